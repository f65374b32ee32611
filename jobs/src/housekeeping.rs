//! Rows that only matter for a while: web-flow states past their expiry, and the webhook
//! deliveries kept to recognise redeliveries (GitHub redelivers for days, not months). The
//! scheduler prunes them about once an hour; several schedulers pruning at once is harmless.

use chrono::{DateTime, Utc};
use entities::{oauth_state, webhook_delivery};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

/// How long an expired web-flow state is kept (for a late browser's log line, nothing more).
pub const STATE_RETENTION: chrono::Duration = chrono::Duration::days(1);
/// How long a processed delivery id is remembered.
pub const DELIVERY_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// What a pruning removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Expired web-flow states.
    pub states: u64,
    /// Old webhook deliveries.
    pub deliveries: u64,
}

/// Deletes what is past its retention at `now`.
pub async fn prune(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Pruned, DbErr> {
    let states = oauth_state::Entity::delete_many()
        .filter(oauth_state::Column::ExpiresAt.lt(now - STATE_RETENTION))
        .exec(db)
        .await?
        .rows_affected;
    let deliveries = webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::ReceivedAt.lt(now - DELIVERY_RETENTION))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Pruned { states, deliveries })
}
