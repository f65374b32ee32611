//! A connection's lease: one discovery at a time per connection, across every worker process.
//! A run takes the lease, renews it on its own clock while it works, and releases it when it
//! records its end; a crashed worker's lease lapses by itself and the next run closes the
//! crashed run's record.

use super::Discovery;
use super::outcome::{Issue, IssueCode};
use chrono::{DateTime, Utc};
use entities::{ConnectionStatus, DiscoveryOutcome, connection, discovery_run};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QuerySelect, UpdateMany};
use std::time::Duration;
use uuid::Uuid;

/// How long a lease lasts without renewal; a crashed worker's lease lapses after this.
pub(super) const LEASE: Duration = Duration::from_secs(30);
/// How often a running discovery renews its lease.
pub(super) const RENEW_EVERY: Duration = Duration::from_secs(10);

/// The update that closes run `run` as `FAILED` with `issue`, if it is still open.
pub(super) fn fail_open_run(
    run: Uuid,
    issue: Issue,
    now: DateTime<Utc>,
) -> UpdateMany<discovery_run::Entity> {
    discovery_run::Entity::update_many()
        .col_expr(discovery_run::Column::FinishedAt, Expr::value(now))
        .col_expr(
            discovery_run::Column::Outcome,
            Expr::value(DiscoveryOutcome::Failed),
        )
        .col_expr(
            discovery_run::Column::Issues,
            Expr::value(Issue::json(&[issue])),
        )
        .filter(discovery_run::Column::Id.eq(run))
        .filter(discovery_run::Column::FinishedAt.is_null())
}

/// The update that ends run `run`'s hold on connection `id`: the connection's new status and
/// message, its next discovery and interval, the lease and any cancellation request cleared.
/// It touches the row only while `run` still holds the lease.
pub(super) fn release(
    id: Uuid,
    run: Uuid,
    (status, message): (ConnectionStatus, &str),
    (next_at, interval): (DateTime<Utc>, Duration),
    now: DateTime<Utc>,
) -> UpdateMany<connection::Entity> {
    connection::Entity::update_many()
        .col_expr(connection::Column::Status, Expr::value(status))
        .col_expr(connection::Column::StatusMessage, Expr::value(message))
        .col_expr(connection::Column::NextDiscoveryAt, Expr::value(next_at))
        .col_expr(
            connection::Column::DiscoveryIntervalSecs,
            Expr::value(interval.as_secs() as i64),
        )
        .col_expr(
            connection::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            connection::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            connection::Column::CancelRequestedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(connection::Column::UpdatedAt, Expr::value(now))
        .filter(connection::Column::Id.eq(id))
        .filter(connection::Column::LeaseOwner.eq(run))
}

impl Discovery {
    /// Takes the lease of connection `id` for run `run`, if nobody holds it; `previous` is
    /// the lease owner the caller just read (the guarded update below decides, not this read).
    pub(super) async fn take_lease(
        &self,
        id: Uuid,
        run: Uuid,
        previous: Option<Uuid>,
    ) -> Result<bool, DbErr> {
        let now = Utc::now();
        let taken = connection::Entity::update_many()
            .col_expr(connection::Column::LeaseOwner, Expr::value(run))
            .col_expr(connection::Column::LeaseUntil, Expr::value(now + LEASE))
            .filter(connection::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(connection::Column::LeaseUntil.is_null())
                    .add(connection::Column::LeaseUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        if taken.rows_affected != 1 {
            return Ok(false);
        }
        // The lease lapsed under a run that never finished: its worker died. Close its record.
        if let Some(lost) = previous.filter(|p| *p != run) {
            let issue = Issue::new(
                IssueCode::WorkerLost,
                "the worker running this discovery stopped; another took over",
                &id.to_string(),
            );
            fail_open_run(lost, issue, now).exec(&self.db).await?;
        }
        Ok(true)
    }

    /// Another run holds the lease: come due again when it lapses. If that run finishes first,
    /// its own schedule replaces this one (the request coalesced into it); if it crashed, this
    /// brings the connection back right after its lease runs out.
    pub(super) async fn retry_after_lease(&self, id: Uuid) -> Result<(), DbErr> {
        let Some(row) = connection::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        let Some(until) = row.lease_until else {
            return Ok(());
        };
        let due = until + chrono::Duration::seconds(1);
        if row.next_discovery_at.is_none_or(|next| next > due) {
            connection::Entity::update_many()
                .col_expr(connection::Column::NextDiscoveryAt, Expr::value(due))
                .filter(connection::Column::Id.eq(id))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Whether someone asked to cancel the discovery of connection `id` that started at
    /// `started` (an older request was for an earlier run).
    pub(super) async fn cancel_requested(
        &self,
        id: Uuid,
        started: chrono::DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let requested: Option<Option<chrono::DateTime<Utc>>> = connection::Entity::find_by_id(id)
            .select_only()
            .column(connection::Column::CancelRequestedAt)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(requested.flatten().is_some_and(|at| at >= started))
    }

    /// Extends the lease run `run` holds on connection `id`.
    pub(super) async fn renew_lease(&self, id: Uuid, run: Uuid) -> Result<(), DbErr> {
        connection::Entity::update_many()
            .col_expr(
                connection::Column::LeaseUntil,
                Expr::value(Utc::now() + LEASE),
            )
            .filter(connection::Column::Id.eq(id))
            .filter(connection::Column::LeaseOwner.eq(run))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Keeps run `run`'s lease on connection `id` on a task of its own: renews it every
    /// [`RENEW_EVERY`] and reads the connection's cancel request (one the bus lost). The run's
    /// page writes hold SQLite's write lock across awaits, so a renewal awaited in the run's own
    /// task would wait for a transaction that cannot go on until it returns. Reports a request
    /// to cancel, or a failed renewal; stops when the returned guard is dropped.
    pub(super) fn keep_lease(
        &self,
        id: Uuid,
        run: Uuid,
        started: DateTime<Utc>,
    ) -> (
        tokio::sync::mpsc::Receiver<Keeper>,
        tokio_util::task::AbortOnDropHandle<()>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let this = self.clone();
        let task = tokio::spawn(async move {
            let mut renewals = tokio::time::interval(RENEW_EVERY);
            renewals.tick().await;
            loop {
                renewals.tick().await;
                let seen = match this.renew_lease(id, run).await {
                    Ok(()) => match this.cancel_requested(id, started).await {
                        Ok(true) => Keeper::CancelRequested,
                        Ok(false) => continue,
                        Err(err) => Keeper::Failed(err),
                    },
                    Err(err) => Keeper::Failed(err),
                };
                let _ = tx.send(seen).await;
                return;
            }
        });
        (rx, tokio_util::task::AbortOnDropHandle::new(task))
    }
}

/// What keeping a run's lease turned up.
#[derive(Debug)]
pub(super) enum Keeper {
    /// Someone asked to cancel the run.
    CancelRequested,
    /// The lease could not be renewed.
    Failed(DbErr),
}
