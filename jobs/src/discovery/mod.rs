//! One discovery of one connection: take the connection's lease, list the scope page by page
//! while upserting each page, mark repositories gone only after a complete listing, and record
//! the run, the connection's status and its next discovery.

mod abandon;
mod activity;
mod lease;
pub mod links;
mod outcome;
mod schedule;
mod upsert;

pub use activity::Activity;
pub use outcome::{Issue, IssueCode, Verdict, verdict};
pub use schedule::SchedulePolicy;
pub use upsert::{Counters, mark_removed, upsert_announced};

use crate::events::{Event, EventBus, Progress, RepositoryChange};
use crate::http::{FetchError, FetchPolicy, Fetcher};
use crate::providers::{Credential, Providers, RemoteRepository};
use crate::providers::{Scope, UnreadableScope};
use crate::scope::{AccessToken, AccountEmail};
use chrono::{DateTime, Utc};
use entities::{
    ConnectionStatus, DiscoveryOutcome, DiscoveryTrigger, Keyring, KeyringError, Provider,
    connection, discovery_run,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Pages buffered between the lister and the writer.
const PAGE_BUFFER: usize = 4;
/// Repositories one write gathers from the pages waiting for it.
const WRITE_AT_MOST: usize = 500;

/// The shortest time between two progress events of one run (the last one always goes out).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Everything a discovery (and a metadata refresh) needs.
#[derive(Clone)]
pub struct Discovery {
    /// The database.
    pub db: DatabaseConnection,
    /// Opens stored credentials.
    pub keyring: Arc<Keyring>,
    /// Provider clients, and the rate-limit budgets shared by every worker.
    pub providers: Providers,
    /// Retries, backoff, the longest wait and the largest body.
    pub fetch: FetchPolicy,
    /// Adaptive interval bounds.
    pub schedule: SchedulePolicy,
    /// The longest one run may take.
    pub deadline: Duration,
    /// Discoveries running in this process (background work gives way to them).
    pub activity: Activity,
    /// Where runs tell live subscribers what they do.
    pub events: EventBus,
}

/// How a discovery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; the run row has the details.
    Finished(RunReport),
    /// Another discovery of this connection holds the lease.
    Busy,
    /// The connection no longer exists (deleted meanwhile).
    Missing,
}

/// A finished run's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The run row.
    pub run_id: Uuid,
    /// Succeeded, partial or failed.
    pub outcome: DiscoveryOutcome,
    /// Row counters.
    pub counters: Counters,
    /// Requests sent.
    pub api_requests: i64,
    /// Rate-limit waits.
    pub rate_limit_waits: i64,
    /// When the next discovery is due (the rate limit's reset, after a long wait).
    pub next_at: DateTime<Utc>,
    /// The connection's provider.
    pub provider: Option<Provider>,
}

/// A stored connection that cannot be worked on as it is.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Its scope columns do not parse.
    #[error(transparent)]
    Scope(#[from] UnreadableScope),
    /// Its credential does not open with the configured keys.
    #[error("the stored credential of connection {connection} does not open: {cause}")]
    Credential {
        /// The connection.
        connection: Uuid,
        /// Why.
        #[source]
        cause: KeyringError,
    },
}

/// Why a run's listing did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// A provider request failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The connection could not be read.
    #[error(transparent)]
    Unreadable(#[from] PrepareError),
    /// Someone cancelled the run (`cancelDiscovery`).
    #[error("the discovery was cancelled")]
    Cancelled,
    /// The run took longer than its deadline.
    #[error("the discovery took longer than its deadline of {0:?}")]
    DeadlineExceeded(Duration),
}

/// The run being worked on.
#[derive(Debug, Clone, Copy)]
struct RunRef {
    id: Uuid,
    started_at: DateTime<Utc>,
}

/// What listing and writing a run produced.
struct Listed {
    result: Result<(), RunFailure>,
    counters: Counters,
    api_requests: i64,
    rate_limit_waits: i64,
}

impl Discovery {
    /// A fetcher for one job on `row`, its rate-limit budget keyed by host and credential.
    pub(crate) fn fetcher(
        &self,
        row: &connection::Model,
        credential: Option<&Credential>,
    ) -> Fetcher {
        self.providers.fetcher(&row.host, credential, self.fetch)
    }

    /// The scope and the opened credential of a stored connection.
    pub(crate) fn prepare(
        &self,
        row: &connection::Model,
    ) -> Result<(Scope, Option<Credential>), PrepareError> {
        let scope = Scope::from_row(row)?;
        let Some(sealed) = &row.credential else {
            return Ok((scope, None));
        };
        let secret = self
            .keyring
            .open(sealed, connection::credential_context(row.id))
            .map_err(|cause| PrepareError::Credential {
                connection: row.id,
                cause,
            })?;
        let email = row
            .credential_email
            .as_deref()
            .and_then(|e| AccountEmail::parse(e, "email").ok());
        let credential = Credential {
            token: AccessToken::from_secret(secret),
            email,
        };
        Ok((scope, Some(credential)))
    }

    /// Runs one discovery of `connection_id`.
    pub async fn run(
        &self,
        connection_id: Uuid,
        trigger: DiscoveryTrigger,
    ) -> Result<Outcome, DbErr> {
        let Some(row) = connection::Entity::find_by_id(connection_id)
            .one(&self.db)
            .await?
        else {
            return Ok(Outcome::Missing);
        };
        let run_id = entities::new_id();
        if !self
            .take_lease(connection_id, run_id, row.lease_owner)
            .await?
        {
            self.retry_after_lease(connection_id).await?;
            return Ok(Outcome::Busy);
        }
        let _running = self.activity.running();
        let started = Utc::now();
        discovery_run::ActiveModel {
            id: Set(run_id),
            organization_id: Set(row.organization_id),
            connection_id: Set(Some(row.id)),
            provider: Set(Some(row.provider)),
            trigger: Set(trigger),
            started_at: Set(started),
            finished_at: Set(None),
            outcome: Set(None),
            added: Set(0),
            updated: Set(0),
            unchanged: Set(0),
            gone: Set(0),
            api_requests: Set(0),
            rate_limit_waits: Set(0),
            issues: Set(serde_json::json!([])),
        }
        .insert(&self.db)
        .await?;
        let run = RunRef {
            id: run_id,
            started_at: started,
        };
        // From here on the run always ends: a database error closes it as well as it can.
        match self.work(&row, run).await {
            Ok(outcome) => Ok(outcome),
            Err(err) => self.abandon(&row, run, err).await,
        }
    }

    /// Marks the connection syncing, lists and writes, and records the end.
    async fn work(&self, row: &connection::Model, run: RunRef) -> Result<Outcome, DbErr> {
        self.set_status(row, ConnectionStatus::Syncing, "Discovering repositories…")
            .await?;
        let listed = match self.prepare(row) {
            Err(err) => Listed {
                result: Err(err.into()),
                counters: Counters::default(),
                api_requests: 0,
                rate_limit_waits: 0,
            },
            Ok((scope, credential)) => self.list_and_write(row, run, &scope, credential).await?,
        };
        self.finish(row, run, listed).await
    }

    async fn list_and_write(
        &self,
        row: &connection::Model,
        run: RunRef,
        scope: &Scope,
        credential: Option<Credential>,
    ) -> Result<Listed, DbErr> {
        let run_id = run.id;
        let fetcher = self.fetcher(row, credential.as_ref());
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<RemoteRepository>>(PAGE_BUFFER);
        let listing = async {
            let result = self
                .providers
                .list(scope, credential.as_ref(), &fetcher, &tx)
                .await;
            drop(tx);
            result
        };
        // What the writer has written so far, readable when the run is cancelled mid-page.
        let written_so_far = std::sync::Mutex::new(Counters::default());
        let writing = async {
            // The receiver lives in here: if writing fails, it is dropped with this future and
            // the lister's next send fails too, instead of waiting forever on a full channel.
            let mut rx = rx;
            let mut seen = HashSet::new();
            let mut counters = Counters::default();
            let mut last_progress = tokio::time::Instant::now();
            while let Some(mut page) = rx.recv().await {
                // Pages that arrived while the last write waited for its turn go in one write:
                // under load a run writes fewer, larger transactions.
                while page.len() < WRITE_AT_MOST {
                    match rx.try_recv() {
                        Ok(more) => page.extend(more),
                        Err(_) => break,
                    }
                }
                let changes =
                    upsert::upsert_page(&self.db, row, page, &mut seen, &mut counters).await?;
                if let Ok(mut so_far) = written_so_far.lock() {
                    *so_far = counters;
                }
                self.announce(row, RepositoryChange::Added, changes.added);
                self.announce(row, RepositoryChange::Updated, changes.updated);
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = tokio::time::Instant::now();
                    let requests = fetcher.stats().requests() as i64;
                    self.progress(row, run, &counters, requests, None);
                }
            }
            Ok::<_, DbErr>((seen, counters))
        };
        // The lease is renewed on a clock of its own: a slow page or a rate-limit wait must not
        // let it lapse while this run is alive.
        let work = async { tokio::join!(listing, writing) };
        tokio::pin!(work);
        let (mut kept, _keeper) = self.keep_lease(row.id, run_id, run.started_at);
        // A cancellation arrives on the bus at once; the request's column, read at each renewal,
        // catches one the bus lost. (Polling the column every second starved SQLite's pool.)
        let mut signals = self.events.subscribe();
        let deadline = tokio::time::sleep(self.deadline);
        tokio::pin!(deadline);
        // Dropping the work stops the listing; a page being written rolls back.
        let stopped = |failure| {
            let stats = fetcher.stats();
            Listed {
                result: Err(failure),
                counters: written_so_far.lock().map(|c| *c).unwrap_or_default(),
                api_requests: stats.requests() as i64,
                rate_limit_waits: stats.rate_limit_waits() as i64,
            }
        };
        let (listed, written) = loop {
            tokio::select! {
                done = &mut work => break done,
                Some(seen) = kept.recv() => match seen {
                    lease::Keeper::CancelRequested => return Ok(stopped(RunFailure::Cancelled)),
                    lease::Keeper::Failed(err) => return Err(err),
                },
                signal = signals.recv() => {
                    if let Ok(message) = signal
                        && message.organization_id == row.organization_id
                        && message.events.iter().any(|e| {
                            matches!(e, Event::CancelRequested { connection_id } if *connection_id == row.id)
                        })
                    {
                        return Ok(stopped(RunFailure::Cancelled));
                    }
                }
                () = &mut deadline => {
                    return Ok(stopped(RunFailure::DeadlineExceeded(self.deadline)));
                }
            }
        };
        let (seen, mut counters) = written?;
        if listed.is_ok() {
            let gone = upsert::mark_gone(&self.db, row, &seen).await?;
            counters.gone = gone.len() as i64;
            self.announce(row, RepositoryChange::Gone, gone);
        }
        let stats = fetcher.stats();
        Ok(Listed {
            result: listed.map_err(RunFailure::from),
            counters,
            api_requests: stats.requests() as i64,
            rate_limit_waits: stats.rate_limit_waits() as i64,
        })
    }

    async fn set_status(
        &self,
        row: &connection::Model,
        status: ConnectionStatus,
        message: &str,
    ) -> Result<(), DbErr> {
        connection::Entity::update_many()
            .col_expr(connection::Column::Status, Expr::value(status))
            .col_expr(connection::Column::StatusMessage, Expr::value(message))
            .col_expr(connection::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(connection::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        self.announce_status(row, status, message);
        Ok(())
    }

    /// Tells subscribers `row`'s status and message now.
    fn announce_status(&self, row: &connection::Model, status: ConnectionStatus, message: &str) {
        self.events.publish_one(
            row.organization_id,
            Event::ConnectionChanged {
                connection_id: row.id,
                status: Some(status.to_value()),
                message: Some(message.to_owned()),
            },
        );
    }

    /// Tells subscribers about repositories of `row` that `change`d.
    fn announce(
        &self,
        row: &connection::Model,
        change: RepositoryChange,
        repositories: Vec<(Uuid, String)>,
    ) {
        self.events
            .publish_repositories(row.organization_id, Some(row.id), change, repositories);
    }

    /// Tells subscribers how far `run` has come (`outcome` once it has finished).
    fn progress(
        &self,
        row: &connection::Model,
        run: RunRef,
        counters: &Counters,
        api_requests: i64,
        outcome: Option<DiscoveryOutcome>,
    ) {
        self.events.publish_one(
            row.organization_id,
            Event::DiscoveryProgress(Progress {
                run_id: run.id,
                connection_id: row.id,
                started_at: run.started_at,
                added: counters.added,
                updated: counters.updated,
                unchanged: counters.unchanged,
                gone: counters.gone,
                api_requests,
                outcome: outcome.map(|o| o.to_value()),
            }),
        );
    }

    /// Records the run's end, the connection's status and its next discovery, and releases
    /// the lease.
    async fn finish(
        &self,
        row: &connection::Model,
        run: RunRef,
        listed: Listed,
    ) -> Result<Outcome, DbErr> {
        let run_id = run.id;
        let now = Utc::now();
        let Listed {
            result,
            counters,
            api_requests,
            rate_limit_waits,
        } = listed;
        let verdict = verdict(
            &result,
            (
                counters.added,
                counters.updated,
                counters.unchanged,
                counters.gone,
            ),
            &row.scope_key,
        );
        let cancelled = matches!(result, Err(RunFailure::Cancelled));
        let status = match row.status {
            _ if !cancelled => verdict.status,
            // Cancelled: the connection is as it was before this run.
            ConnectionStatus::Syncing => ConnectionStatus::Pending,
            before => before,
        };
        let previous = row
            .discovery_interval_secs
            .map(|s| Duration::from_secs(s.max(0) as u64));
        let failed = !cancelled && verdict.outcome != DiscoveryOutcome::Succeeded;
        let interval = self.schedule.next(previous, counters.changed(), failed);
        let next_at = verdict
            .retry_at
            .unwrap_or(now + chrono::Duration::from_std(interval).unwrap_or_default());
        let outcome = verdict.outcome;
        discovery_run::Entity::update_many()
            .col_expr(discovery_run::Column::FinishedAt, Expr::value(now))
            .col_expr(discovery_run::Column::Outcome, Expr::value(outcome))
            .col_expr(discovery_run::Column::Added, Expr::value(counters.added))
            .col_expr(
                discovery_run::Column::Updated,
                Expr::value(counters.updated),
            )
            .col_expr(
                discovery_run::Column::Unchanged,
                Expr::value(counters.unchanged),
            )
            .col_expr(discovery_run::Column::Gone, Expr::value(counters.gone))
            .col_expr(
                discovery_run::Column::ApiRequests,
                Expr::value(api_requests),
            )
            .col_expr(
                discovery_run::Column::RateLimitWaits,
                Expr::value(rate_limit_waits),
            )
            .col_expr(
                discovery_run::Column::Issues,
                Expr::value(Issue::json(&verdict.issues)),
            )
            .filter(discovery_run::Column::Id.eq(run_id))
            .exec(&self.db)
            .await?;
        let mut update = lease::release(
            row.id,
            run_id,
            (status, &verdict.message),
            (next_at, interval),
            now,
        );
        if result.is_ok() {
            update = update.col_expr(connection::Column::LastDiscoveredAt, Expr::value(now));
        }
        update.exec(&self.db).await?;
        self.progress(row, run, &counters, api_requests, Some(outcome));
        self.announce_status(row, status, &verdict.message);
        tracing::info!(
            connection = %row.id,
            run = %run_id,
            outcome = ?outcome,
            added = counters.added,
            updated = counters.updated,
            unchanged = counters.unchanged,
            gone = counters.gone,
            api_requests,
            "discovery finished"
        );
        Ok(Outcome::Finished(RunReport {
            run_id,
            outcome,
            counters,
            api_requests,
            rate_limit_waits,
            next_at,
            provider: Some(row.provider),
        }))
    }
}
