//! A run cut short by a database error still ends: it is closed `FAILED` with the error as an
//! issue, the lease is released, the connection is `DEGRADED` and comes due again with the
//! failure backoff. Only when even that fails does the error reach the queue (which retries);
//! the lease then lapses by itself and the next run closes this one as `WORKER_LOST`.

use super::lease::{fail_open_run, release};
use super::outcome::{Issue, IssueCode};
use super::{Counters, Discovery, Outcome, RunRef, RunReport};
use chrono::Utc;
use entities::{ConnectionStatus, DiscoveryOutcome, connection};
use sea_orm::DbErr;
use std::time::Duration;

/// What users read: the database's own message stays in the log.
const MESSAGE: &str = "Discovery was cut short by a database error; it is retried with backoff";

impl Discovery {
    /// Closes `run` of `row` after `err`; the run's report when that worked.
    pub(super) async fn abandon(
        &self,
        row: &connection::Model,
        run: RunRef,
        err: DbErr,
    ) -> Result<Outcome, DbErr> {
        tracing::error!(connection = %row.id, run = %run.id, error = %err, "a database error cut a discovery short");
        let now = Utc::now();
        let previous = row
            .discovery_interval_secs
            .map(|s| Duration::from_secs(s.max(0) as u64));
        let interval = self.schedule.next(previous, false, true);
        let next_at = now + chrono::Duration::from_std(interval).unwrap_or_default();
        let issue = Issue::new(IssueCode::DatabaseError, MESSAGE, &row.scope_key);
        let closed = async {
            fail_open_run(run.id, issue, now).exec(&self.db).await?;
            release(
                row.id,
                run.id,
                (ConnectionStatus::Degraded, MESSAGE),
                (next_at, interval),
                now,
            )
            .exec(&self.db)
            .await?;
            Ok::<_, DbErr>(())
        }
        .await;
        if let Err(second) = closed {
            tracing::warn!(connection = %row.id, run = %run.id, error = %second, "could not close the run either; its lease will lapse");
            return Err(err);
        }
        let outcome = DiscoveryOutcome::Failed;
        self.progress(row, run, &Counters::default(), 0, Some(outcome));
        self.announce_status(row, ConnectionStatus::Degraded, MESSAGE);
        Ok(Outcome::Finished(RunReport {
            run_id: run.id,
            outcome,
            counters: Counters::default(),
            api_requests: 0,
            rate_limit_waits: 0,
            next_at,
            provider: Some(row.provider),
        }))
    }
}
