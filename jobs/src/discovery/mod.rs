//! One discovery of one connection: take the connection's lease, list the scope page by page
//! while upserting each page, mark repositories gone only after a complete listing, and record
//! the run, the connection's status and its next discovery.

mod activity;
mod refresh_run;
mod schedule;
mod upsert;

pub use activity::Activity;
pub use refresh_run::RefreshReport;
pub use schedule::SchedulePolicy;
pub use upsert::Counters;

use crate::budget::{RateBudget, budget_key};
use crate::fetch::{FetchError, FetchPolicy, Fetcher};
use crate::listing::RemoteRepository;
use crate::providers::{Credential, Providers};
use crate::{AccessToken, AccountEmail, Endpoints, GroupPath, InstallationId, InstanceUrl};
use crate::{OrganizationUrl, Scope, WorkspaceId};
use chrono::{DateTime, Utc};
use entities::{
    ConnectionStatus, DiscoveryOutcome, DiscoveryTrigger, Keyring, Provider, connection,
    discovery_run,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
};
use secrecy::ExposeSecret;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long a lease lasts without renewal; a crashed worker's lease lapses after this.
const LEASE: Duration = Duration::from_secs(30);
/// How often a running discovery renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Pages buffered between the lister and the writer.
const PAGE_BUFFER: usize = 8;

/// Everything a discovery needs.
#[derive(Clone)]
pub struct Discovery {
    /// The database.
    pub db: DatabaseConnection,
    /// Opens stored credentials.
    pub keyring: Arc<Keyring>,
    /// Provider clients.
    pub providers: Providers,
    /// Provider endpoints.
    pub endpoints: Endpoints,
    /// Rate-limit budgets shared by every worker.
    pub budget: Arc<dyn RateBudget>,
    /// Retries, backoff and the longest wait.
    pub fetch: FetchPolicy,
    /// Adaptive interval bounds.
    pub schedule: SchedulePolicy,
    /// Discoveries running in this process (background work gives way to them).
    pub activity: Activity,
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

/// Rebuilds the scope a stored connection covers.
pub fn stored_scope(row: &connection::Model) -> Result<Scope, String> {
    let corrupt = |what: &str| format!("connection {} has a bad {what}", row.id);
    Ok(match row.provider {
        Provider::Gitlab => Scope::GitlabGroup {
            instance: row
                .instance_url
                .as_deref()
                .map(InstanceUrl::parse)
                .transpose()
                .map_err(|_| corrupt("instance URL"))?,
            group: GroupPath::parse(row.group_path.as_deref().unwrap_or_default())
                .map_err(|_| corrupt("group path"))?,
        },
        Provider::Bitbucket => Scope::BitbucketWorkspace(
            WorkspaceId::parse(row.workspace_id.as_deref().unwrap_or_default())
                .map_err(|_| corrupt("workspace"))?,
        ),
        Provider::AzureDevops => Scope::AzureOrganization(
            OrganizationUrl::parse(row.organization_url.as_deref().unwrap_or_default())
                .map_err(|_| corrupt("organization URL"))?,
        ),
        Provider::Github => Scope::GithubInstallation(
            InstallationId::parse(&row.installation_id.unwrap_or_default().to_string())
                .map_err(|_| corrupt("installation id"))?,
        ),
    })
}

fn issue(code: &str, message: &str, subject: &str) -> serde_json::Value {
    serde_json::json!({"code": code, "message": message, "subject": subject})
}

impl Discovery {
    async fn take_lease(&self, id: Uuid, run: Uuid) -> Result<bool, DbErr> {
        let previous = connection::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .and_then(|row| row.lease_owner);
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
            discovery_run::Entity::update_many()
                .col_expr(discovery_run::Column::FinishedAt, Expr::value(now))
                .col_expr(
                    discovery_run::Column::Outcome,
                    Expr::value(DiscoveryOutcome::Failed),
                )
                .col_expr(
                    discovery_run::Column::Issues,
                    Expr::value(serde_json::json!([issue(
                        "WORKER_LOST",
                        "the worker running this discovery stopped; another took over",
                        &id.to_string()
                    )])),
                )
                .filter(discovery_run::Column::Id.eq(lost))
                .filter(discovery_run::Column::FinishedAt.is_null())
                .exec(&self.db)
                .await?;
        }
        Ok(true)
    }

    /// Another run holds the lease: come due again when it lapses. If that run finishes first,
    /// its own schedule replaces this one (the request coalesced into it); if it crashed, this
    /// brings the connection back right after its lease runs out.
    async fn retry_after_lease(&self, id: Uuid) -> Result<(), DbErr> {
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

    async fn renew_lease(&self, id: Uuid, run: Uuid) -> Result<(), DbErr> {
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

    /// A fetcher for one job on `row`, its rate-limit budget keyed by host and credential.
    fn fetcher(&self, row: &connection::Model, credential: Option<&Credential>) -> Fetcher {
        let secret = credential
            .map(|c| c.token.secret().expose_secret().to_owned())
            .unwrap_or_default();
        Fetcher::new(
            self.budget.clone(),
            budget_key(&row.host, &secret),
            row.host.clone(),
            self.fetch,
        )
    }

    fn credential(&self, row: &connection::Model) -> Result<Option<Credential>, String> {
        let Some(sealed) = &row.credential else {
            return Ok(None);
        };
        let secret = self
            .keyring
            .open(sealed, connection::credential_context(row.id))
            .map_err(|e| format!("the stored credential does not open: {e}"))?;
        let email = row
            .credential_email
            .as_deref()
            .and_then(|e| AccountEmail::parse(e, "email").ok());
        Ok(Some(Credential {
            token: AccessToken::from_secret(secret),
            email,
        }))
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
        if !self.take_lease(connection_id, run_id).await? {
            self.retry_after_lease(connection_id).await?;
            return Ok(Outcome::Busy);
        }
        let _running = self.activity.running();
        let started = Utc::now();
        discovery_run::ActiveModel {
            id: Set(run_id),
            organization_id: Set(row.organization_id),
            connection_id: Set(Some(row.id)),
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
        self.set_status(
            row.id,
            ConnectionStatus::Syncing,
            "Discovering repositories…",
        )
        .await?;

        let subject = row.scope_key.clone();
        let prepared = stored_scope(&row).and_then(|scope| Ok((scope, self.credential(&row)?)));
        let (listing, counters, requests, waits) = match prepared {
            Err(message) => (
                Err(FetchError::Protocol(message)),
                Counters::default(),
                0,
                0,
            ),
            Ok((scope, credential)) => {
                self.list_and_write(&row, run_id, &scope, credential)
                    .await?
            }
        };
        self.finish(&row, run_id, listing, counters, requests, waits, &subject)
            .await
    }

    async fn list_and_write(
        &self,
        row: &connection::Model,
        run_id: Uuid,
        scope: &Scope,
        credential: Option<Credential>,
    ) -> Result<(Result<(), FetchError>, Counters, i64, i64), DbErr> {
        let fetcher = self.fetcher(row, credential.as_ref());
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RemoteRepository>>(PAGE_BUFFER);
        let provider = self.providers.for_scope(scope);
        let listing = async {
            let result = provider
                .list(scope, credential.as_ref(), &fetcher, &tx)
                .await;
            drop(tx);
            result
        };
        let writing = async {
            let mut seen = HashSet::new();
            let mut counters = Counters::default();
            while let Some(page) = rx.recv().await {
                upsert::upsert_page(&self.db, row, page, &mut seen, &mut counters).await?;
            }
            Ok::<_, DbErr>((seen, counters))
        };
        // The lease is renewed on a clock of its own: a slow page or a rate-limit wait must not
        // let it lapse while this run is alive.
        let work = async { tokio::join!(listing, writing) };
        tokio::pin!(work);
        let mut renewals = tokio::time::interval(RENEW_EVERY);
        renewals.tick().await;
        let (listed, written) = loop {
            tokio::select! {
                done = &mut work => break done,
                _ = renewals.tick() => self.renew_lease(row.id, run_id).await?,
            }
        };
        let (seen, mut counters) = written?;
        if listed.is_ok() {
            counters.gone = upsert::mark_gone(&self.db, row, &seen).await?;
        }
        let stats = fetcher.stats();
        Ok((
            listed,
            counters,
            stats.requests() as i64,
            stats.rate_limit_waits() as i64,
        ))
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: ConnectionStatus,
        message: &str,
    ) -> Result<(), DbErr> {
        connection::Entity::update_many()
            .col_expr(connection::Column::Status, Expr::value(status))
            .col_expr(connection::Column::StatusMessage, Expr::value(message))
            .col_expr(connection::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(connection::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        row: &connection::Model,
        run_id: Uuid,
        listing: Result<(), FetchError>,
        counters: Counters,
        api_requests: i64,
        rate_limit_waits: i64,
        subject: &str,
    ) -> Result<Outcome, DbErr> {
        let now = Utc::now();
        let listed_any = counters.added + counters.updated + counters.unchanged > 0;
        let previous = row
            .discovery_interval_secs
            .map(|s| Duration::from_secs(s.max(0) as u64));
        let (outcome, status, message, issues, retry_at) = match &listing {
            Ok(()) => {
                let total = counters.added + counters.updated + counters.unchanged;
                (
                    DiscoveryOutcome::Succeeded,
                    ConnectionStatus::Active,
                    format!(
                        "{total} repositories; {} new, {} changed, {} gone",
                        counters.added, counters.updated, counters.gone
                    ),
                    vec![],
                    None,
                )
            }
            Err(FetchError::RateLimited { until }) => (
                DiscoveryOutcome::Partial,
                ConnectionStatus::Degraded,
                format!(
                    "Rate limited by the provider; discovery resumes at {}",
                    until.to_rfc3339()
                ),
                vec![issue(
                    "RATE_LIMITED",
                    &format!("rate limited until {}", until.to_rfc3339()),
                    subject,
                )],
                Some(*until),
            ),
            Err(FetchError::Unauthorized(message)) => (
                if listed_any {
                    DiscoveryOutcome::Partial
                } else {
                    DiscoveryOutcome::Failed
                },
                ConnectionStatus::Unauthorized,
                message.clone(),
                vec![issue("UNAUTHORIZED", message, subject)],
                None,
            ),
            Err(FetchError::Suspended(message)) => (
                DiscoveryOutcome::Failed,
                ConnectionStatus::Suspended,
                message.clone(),
                vec![issue("SUSPENDED", message, subject)],
                None,
            ),
            Err(FetchError::NotFound(message)) => (
                DiscoveryOutcome::Failed,
                ConnectionStatus::Unauthorized,
                message.clone(),
                vec![issue("SCOPE_NOT_FOUND", message, subject)],
                None,
            ),
            Err(e @ (FetchError::Transient(_) | FetchError::Protocol(_))) => (
                if listed_any {
                    DiscoveryOutcome::Partial
                } else {
                    DiscoveryOutcome::Failed
                },
                ConnectionStatus::Degraded,
                format!("Discovery was cut short: {e}"),
                vec![issue(
                    if matches!(e, FetchError::Transient(_)) {
                        "PROVIDER_UNAVAILABLE"
                    } else {
                        "PROVIDER_ERROR"
                    },
                    &e.to_string(),
                    subject,
                )],
                None,
            ),
        };
        let failed = outcome != DiscoveryOutcome::Succeeded;
        let interval = self.schedule.next(previous, counters.changed(), failed);
        let next_at =
            retry_at.unwrap_or(now + chrono::Duration::from_std(interval).unwrap_or_default());

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
                Expr::value(serde_json::Value::Array(issues)),
            )
            .filter(discovery_run::Column::Id.eq(run_id))
            .exec(&self.db)
            .await?;
        let mut update = connection::Entity::update_many()
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
            .col_expr(connection::Column::UpdatedAt, Expr::value(now));
        if listing.is_ok() {
            update = update.col_expr(connection::Column::LastDiscoveredAt, Expr::value(now));
        }
        update
            .filter(connection::Column::Id.eq(row.id))
            .filter(connection::Column::LeaseOwner.eq(run_id))
            .exec(&self.db)
            .await?;
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
