//! Discovery runs for the dashboard: the organization's history newest first, runs per hour
//! per provider queue, and the actions on runs (retry one, retry every failed one, cancel).

use super::connections;
use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Duration, DurationRound, Utc};
use entities::{DiscoveryOutcome, Provider, connection, discovery_run};
use jobs::queue::Trigger;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The longest window `discoveryRunsPerHour` covers.
pub const MAX_HOURS: u32 = 168;

/// Which runs to list.
#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    /// Only this connection's.
    pub connection: Option<Uuid>,
    /// Only runs that ended so.
    pub outcome: Option<DiscoveryOutcome>,
}

/// The organization's runs matching `filter`.
pub fn select(viewer: &Viewer, filter: &RunFilter) -> Select<discovery_run::Entity> {
    let mut select = discovery_run::Entity::find()
        .filter(discovery_run::Column::OrganizationId.eq(viewer.organization_id));
    if let Some(connection) = filter.connection {
        select = select.filter(discovery_run::Column::ConnectionId.eq(connection));
    }
    if let Some(outcome) = filter.outcome {
        select = select.filter(discovery_run::Column::Outcome.eq(outcome));
    }
    select
}

/// One run of the viewer's organization.
pub async fn find(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<discovery_run::Model, ApiError> {
    find_in_org(db, viewer.organization_id, id).await
}

/// One run of `organization`.
pub async fn find_in_org(
    db: &sea_orm::DatabaseConnection,
    organization: Uuid,
    id: Uuid,
) -> Result<discovery_run::Model, ApiError> {
    discovery_run::Entity::find()
        .filter(discovery_run::Column::OrganizationId.eq(organization))
        .filter(discovery_run::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// One hour's runs of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Runs started in it.
    pub runs: u32,
    /// Of which failed or partial.
    pub failures: u32,
}

/// Runs started per hour over the last `hours` hours, per provider (each provider's discoveries
/// have their own queue), oldest hour first; every provider is listed, idle ones with zeros.
pub async fn per_hour(
    db: &sea_orm::DatabaseConnection,
    viewer: &Viewer,
    hours: u32,
    now: DateTime<Utc>,
) -> Result<Vec<(Provider, Vec<HourCount>)>, ApiError> {
    let hours = hours.clamp(1, MAX_HOURS);
    let current = now
        .duration_trunc(Duration::hours(1))
        .map_err(|e| ApiError::Internal(format!("truncating to the hour: {e}")))?;
    let first = current - Duration::hours(i64::from(hours) - 1);
    let rows: Vec<(Option<Provider>, DateTime<Utc>, Option<DiscoveryOutcome>)> =
        select(viewer, &RunFilter::default())
            .select_only()
            .column(discovery_run::Column::Provider)
            .column(discovery_run::Column::StartedAt)
            .column(discovery_run::Column::Outcome)
            .filter(discovery_run::Column::StartedAt.gte(first))
            .into_tuple()
            .all(db)
            .await?;
    let providers = [
        Provider::Github,
        Provider::Gitlab,
        Provider::Bitbucket,
        Provider::AzureDevops,
    ];
    let mut counts: HashMap<Provider, Vec<HourCount>> = providers
        .iter()
        .map(|p| {
            let buckets = (0..hours)
                .map(|i| HourCount {
                    hour: first + Duration::hours(i64::from(i)),
                    runs: 0,
                    failures: 0,
                })
                .collect();
            (*p, buckets)
        })
        .collect();
    for (provider, started, outcome) in rows {
        let Some(buckets) = provider.and_then(|p| counts.get_mut(&p)) else {
            continue;
        };
        let index = (started - first).num_hours();
        let Some(bucket) = usize::try_from(index).ok().and_then(|i| buckets.get_mut(i)) else {
            continue;
        };
        bucket.runs += 1;
        if matches!(
            outcome,
            Some(DiscoveryOutcome::Failed | DiscoveryOutcome::Partial)
        ) {
            bucket.failures += 1;
        }
    }
    Ok(providers
        .into_iter()
        .map(|p| (p, counts.remove(&p).unwrap_or_default()))
        .collect())
}

/// Runs a failed or partial run's connection again, now.
pub async fn retry(
    state: &AppState,
    viewer: &Viewer,
    run_id: Uuid,
) -> Result<connection::Model, RetryRefused> {
    let run = find(&state.db, viewer, run_id).await?;
    if !matches!(
        run.outcome,
        Some(DiscoveryOutcome::Failed | DiscoveryOutcome::Partial | DiscoveryOutcome::Cancelled)
    ) {
        return Err(RetryRefused::NotRetryable);
    }
    let connection = run.connection_id.ok_or(RetryRefused::ConnectionDeleted)?;
    Ok(connections::request_discovery(state, viewer, connection, Trigger::Retry).await?)
}

/// Why a run cannot be retried.
#[derive(Debug)]
pub enum RetryRefused {
    /// It succeeded, or is still running.
    NotRetryable,
    /// Its connection was deleted.
    ConnectionDeleted,
    /// Not found, or the database failed.
    Api(ApiError),
}

impl From<ApiError> for RetryRefused {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl RetryRefused {
    /// What to tell the user.
    pub fn message(&self) -> &'static str {
        match self {
            Self::NotRetryable => "only failed, partial or cancelled runs can be retried",
            Self::ConnectionDeleted => "the run's connection was deleted",
            Self::Api(_) => "the run could not be retried",
        }
    }
}

/// Runs again every connection whose latest run failed or was partial; returns them.
pub async fn retry_failed(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Vec<connection::Model>, ApiError> {
    let rows = connection::Entity::find_in_org(viewer.organization_id)
        .all(&state.db)
        .await?;
    // Each connection's latest run, on the (connection, started) index: "retry all" is a rare
    // click over an organization's tens of connections.
    let mut failed = HashSet::new();
    for row in &rows {
        let latest: Option<Option<DiscoveryOutcome>> = discovery_run::Entity::find()
            .select_only()
            .column(discovery_run::Column::Outcome)
            .filter(discovery_run::Column::ConnectionId.eq(row.id))
            .order_by_desc(discovery_run::Column::StartedAt)
            .limit(1)
            .into_tuple()
            .one(&state.db)
            .await?;
        if matches!(
            latest.flatten(),
            Some(DiscoveryOutcome::Failed | DiscoveryOutcome::Partial)
        ) {
            failed.insert(row.id);
        }
    }
    let mut retried = Vec::new();
    for row in rows.into_iter().filter(|r| failed.contains(&r.id)) {
        retried.push(connections::request_discovery(state, viewer, row.id, Trigger::Retry).await?);
    }
    Ok(retried)
}
