//! Schema changes keep what is there: moving a repository's connection into its own link table
//! keeps every repository, finding and state, and its `down()` gives each repository back the
//! connection that listed it.

use crate::fixtures;
use crate::helpers::{Backend, postgres_admin_url, test_settings};
use crate::on_both_backends;
use api::config::Settings;
use chrono::Utc;
use entities::{
    ConnectionStatus, Provider, RepositoryState, connection, finding, organization, repository,
    repository_connection,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryOrder, Set,
};
use uuid::Uuid;

/// The last migration before repositories could have several connections.
const BEFORE_LINKS: u32 = 7;

async fn connection_in(db: &DatabaseConnection, org: Uuid, group: &str) -> connection::Model {
    let now = Utc::now();
    connection::ActiveModel {
        id: Set(entities::new_id()),
        organization_id: Set(org),
        provider: Set(Provider::Gitlab),
        name: Set(group.into()),
        status: Set(ConnectionStatus::Active),
        scope_key: Set(format!("gitlab:gitlab.com:{group}")),
        host: Set("gitlab.com".into()),
        group_path: Set(Some(group.into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// Sets the old `repositories.connection_id` column, which no entity knows any more.
async fn set_old_connection(db: &DatabaseConnection, repo: Uuid, conn: Option<Uuid>) {
    let update = Query::update()
        .table(Alias::new("repositories"))
        .value(Alias::new("connection_id"), conn)
        .and_where(Expr::col(Alias::new("id")).eq(repo))
        .to_owned();
    db.execute(&update).await.unwrap();
}

async fn old_connection(db: &DatabaseConnection, repo: Uuid) -> Option<Uuid> {
    let select = Query::select()
        .column(Alias::new("connection_id"))
        .from(Alias::new("repositories"))
        .and_where(Expr::col(Alias::new("id")).eq(repo))
        .to_owned();
    let row = db.query_one(&select).await.unwrap().unwrap();
    row.try_get_by_index::<Option<Uuid>>(0).unwrap()
}

async fn linking_repositories_keeps_every_row_finding_and_state(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("tether-migration-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (raw, pg_database) = test_settings(backend, &dir).await;
    let settings = Settings::from_raw(raw).unwrap();
    let db = api::db::connect(&settings.database, 1).await.unwrap();
    Migrator::up(&db, Some(BEFORE_LINKS)).await.unwrap();

    let org = organization::ActiveModel {
        id: Set(entities::new_id()),
        name: Set("Acme".into()),
        created_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .unwrap();
    let conn = connection_in(&db, org.id, "ghost/mygroup").await;
    let active = fixtures::repository_row(&db, &conn, "1", "api").await;
    let mut gone: repository::ActiveModel = fixtures::repository_row(&db, &conn, "2", "web")
        .await
        .into();
    gone.state = Set(RepositoryState::Gone);
    let gone = gone.update(&db).await.unwrap();
    let mut detached: repository::ActiveModel = fixtures::repository_row(&db, &conn, "3", "old")
        .await
        .into();
    detached.state = Set(RepositoryState::Detached);
    detached.detached_state = Set(Some(RepositoryState::Active));
    detached.scan_enabled = Set(false);
    detached.detached_scan_enabled = Set(Some(true));
    let detached = detached.update(&db).await.unwrap();
    set_old_connection(&db, active.id, Some(conn.id)).await;
    set_old_connection(&db, gone.id, Some(conn.id)).await;
    fixtures::finding(&db, &active).await;
    fixtures::finding(&db, &detached).await;
    let before = repository::Entity::find()
        .order_by_asc(repository::Column::Id)
        .all(&db)
        .await
        .unwrap();

    Migrator::up(&db, None).await.unwrap();

    let after = repository::Entity::find()
        .order_by_asc(repository::Column::Id)
        .all(&db)
        .await
        .unwrap();
    assert_eq!(after, before, "every repository, with its state, as it was");
    assert_eq!(finding::Entity::find().count(&db).await.unwrap(), 2);
    let links: Vec<(Uuid, Uuid, bool)> = repository_connection::Entity::find()
        .order_by_asc(repository_connection::Column::RepositoryId)
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.connection_id, l.repository_id, l.listed))
        .collect();
    // Listed while active; the gone one keeps its link, unlisted; the detached one has none.
    assert_eq!(
        links,
        [(conn.id, active.id, true), (conn.id, gone.id, false)]
    );

    // Back: each repository gets its connection again.
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(old_connection(&db, active.id).await, Some(conn.id));
    assert_eq!(old_connection(&db, gone.id).await, Some(conn.id));
    assert_eq!(old_connection(&db, detached.id).await, None);
    // And up again, as a redeploy would.
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(
        repository_connection::Entity::find()
            .count(&db)
            .await
            .unwrap(),
        2
    );

    db.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(name) = pg_database {
        let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .unwrap();
    }
}

on_both_backends!(linking_repositories_keeps_every_row_finding_and_state);
