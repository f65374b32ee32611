//! Pruning what only matters for a while: expired web-flow states and old webhook deliveries
//! go, recent ones stay.

use crate::helpers::{Backend, spawn_api_only};
use crate::on_both_backends;
use chrono::{Duration, Utc};
use entities::{Provider, oauth_state, user, webhook_delivery};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};

async fn expired_states_and_old_deliveries_are_pruned_and_recent_ones_kept(backend: Backend) {
    let app = spawn_api_only(backend, |_| {}).await;
    let owner = app.owner().await;
    let db = &app.state.db;
    let user = user::Entity::find_by_email(&owner.email)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    // States name an organization but hold no key to it: any id does here.
    let organization = uuid::Uuid::new_v4();
    let now = Utc::now();
    for expires in [now - Duration::days(2), now + Duration::minutes(5)] {
        oauth_state::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            user_id: Set(user.id),
            organization_id: Set(organization),
            purpose: Set("link".into()),
            expires_at: Set(expires),
            consumed_at: Set(None),
            created_at: Set(expires - Duration::minutes(10)),
        }
        .insert(db)
        .await
        .unwrap();
    }
    for (id, received) in [
        ("old", now - Duration::days(31)),
        ("recent", now - Duration::days(1)),
    ] {
        webhook_delivery::ActiveModel {
            id: Set(format!("{id}-{}", uuid::Uuid::new_v4())),
            provider: Set(Provider::Github),
            event: Set("push".into()),
            received_at: Set(received),
        }
        .insert(db)
        .await
        .unwrap();
    }
    let pruned = jobs::housekeeping::prune(db, now).await.unwrap();
    assert_eq!((pruned.states, pruned.deliveries), (1, 1));
    assert_eq!(oauth_state::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(webhook_delivery::Entity::find().count(db).await.unwrap(), 1);
    let kept = webhook_delivery::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(kept.id.starts_with("recent-"));
}

on_both_backends!(expired_states_and_old_deliveries_are_pruned_and_recent_ones_kept);
