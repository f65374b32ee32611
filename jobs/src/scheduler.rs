//! The periodic tick: enqueues connections whose next discovery is due, in bounded batches, and
//! claims each one (moving its due time ahead) so several schedulers never enqueue it twice.

use crate::queue::{Queues, Trigger};
use chrono::{DateTime, Utc};
use entities::{Provider, connection};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Most connections enqueued per tick: far below what apalis-redis can take due at once (~8,000).
pub const BATCH: u64 = 500;
/// How often expired web-flow states and old webhook deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// How far a claim moves the due time; a job lost before it ran comes back after this.
pub const CLAIM: Duration = Duration::from_secs(10 * 60);

/// Enqueues due discoveries.
#[derive(Clone)]
pub struct Scheduler {
    /// The database.
    pub db: DatabaseConnection,
    /// Where jobs go.
    pub queues: Queues,
    /// Time between ticks.
    pub every: Duration,
}

impl Scheduler {
    /// One tick: returns how many discoveries it enqueued.
    pub async fn tick(&self) -> Result<usize, DbErr> {
        let now = Utc::now();
        let due: Vec<(Uuid, Provider, Option<DateTime<Utc>>)> = connection::Entity::find()
            .select_only()
            .column(connection::Column::Id)
            .column(connection::Column::Provider)
            .column(connection::Column::NextDiscoveryAt)
            .filter(connection::Column::NextDiscoveryAt.lte(now))
            .filter(
                Condition::any()
                    .add(connection::Column::LeaseUntil.is_null())
                    .add(connection::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(connection::Column::NextDiscoveryAt)
            .limit(BATCH)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut enqueued = 0;
        for (id, provider, due_at) in due {
            if !claim(&self.db, id, due_at).await? {
                continue;
            }
            match self
                .queues
                .discover(provider, id, Trigger::Schedule, None)
                .await
            {
                Ok(()) => enqueued += 1,
                Err(err) => {
                    tracing::warn!(connection = %id, error = %err, "could not enqueue a due discovery")
                }
            }
        }
        Ok(enqueued)
    }

    /// Ticks every `self.every` until `shutdown`, and prunes expired rows about once an hour.
    pub fn start(self, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(self.every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned_at: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    () = shutdown.cancelled() => return,
                }
                if let Err(err) = self.tick().await {
                    tracing::warn!(error = %err, "scheduler tick failed");
                }
                if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    pruned_at = Some(tokio::time::Instant::now());
                    match crate::housekeeping::prune(&self.db, Utc::now()).await {
                        Ok(pruned) => tracing::debug!(?pruned, "expired rows pruned"),
                        Err(err) => tracing::warn!(error = %err, "pruning expired rows failed"),
                    }
                }
            }
        });
    }
}

/// Moves a connection's due time ahead by [`CLAIM`] if it still is `due_at`: whoever succeeds
/// enqueues it.
pub async fn claim(
    db: &DatabaseConnection,
    id: Uuid,
    due_at: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let later = Utc::now() + chrono::Duration::from_std(CLAIM).unwrap_or_default();
    let mut update = connection::Entity::update_many()
        .col_expr(connection::Column::NextDiscoveryAt, Expr::value(later))
        .filter(connection::Column::Id.eq(id));
    update = match due_at {
        Some(at) => update.filter(connection::Column::NextDiscoveryAt.eq(at)),
        None => update.filter(connection::Column::NextDiscoveryAt.is_null()),
    };
    Ok(update.exec(db).await?.rows_affected == 1)
}
