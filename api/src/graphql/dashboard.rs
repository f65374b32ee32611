//! What the job dashboard reads and does: queues, run history, runs per hour, and the actions
//! on runs. Anyone in the organization reads its runs; queues and actions are for admins and
//! owners.

use super::context::{connection_manager, state, viewer};
use super::errors::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::pagination::{Order, Page, PageArgs, paginate_in};
use super::types::discovery_run::{HourBucket, JobQueueNode, QueueHistory};
use super::types::enums::DiscoveryOutcome;
use super::types::{ConnectionNode, DiscoveryRunNode, UserError, UserErrorCode};
use crate::services::connections;
use crate::services::discovery_runs::{self, MAX_HOURS, RetryRefused, RunFilter};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;

/// Dashboard queries.
#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// Every job queue's jobs by state (admins and owners; queues are shared by the whole
    /// installation, so these are its counts, not the organization's).
    async fn job_queues(&self, ctx: &Context<'_>) -> ApiResult<Vec<JobQueueNode>> {
        connection_manager(ctx)?;
        let counts = state(ctx)?
            .queues
            .counts()
            .await
            .map_err(|e| ApiError::Internal(format!("counting queued jobs: {e}")))?;
        Ok(counts
            .into_iter()
            .map(|c| JobQueueNode {
                name: c.name,
                provider: c.provider.into(),
                lane: c.lane.into(),
                pending: c.pending,
                running: c.running,
                scheduled: c.scheduled,
                failed: c.failed,
                done: c.done,
            })
            .collect())
    }

    /// The organization's discovery runs, newest first; a client that reconnects after missing
    /// live events catches up here.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 100) as usize * child_complexity")]
    async fn discovery_runs(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        outcome: Option<DiscoveryOutcome>,
    ) -> ApiResult<Page<DiscoveryRunNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let filter = RunFilter {
            connection: connection_id
                .map(|id| ids::decode(&id, Kind::Connection))
                .transpose()?,
            outcome: outcome.map(Into::into),
        };
        paginate_in(
            &state(ctx)?.db,
            discovery_runs::select(viewer, &filter),
            entities::discovery_run::Column::Id,
            args,
            Order::NewestFirst,
            |r| r.id,
            DiscoveryRunNode,
        )
        .await
    }

    /// Discovery runs started per hour over the last `hours` hours (1 to 168), per provider
    /// queue, with how many failed or were partial.
    async fn discovery_runs_per_hour(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 24)] hours: i32,
    ) -> ApiResult<Vec<QueueHistory>> {
        let viewer = viewer(ctx)?;
        let Some(hours) = u32::try_from(hours)
            .ok()
            .filter(|h| (1..=MAX_HOURS).contains(h))
        else {
            return Err(ApiError::BadUserInput(format!(
                "hours must be between 1 and {MAX_HOURS}"
            )));
        };
        let state = state(ctx)?;
        let history = discovery_runs::per_hour(&state.db, viewer, hours, Utc::now()).await?;
        Ok(history
            .into_iter()
            .map(|(provider, hours)| QueueHistory {
                queue: jobs::queue::discovery_queue(state.queues.namespace(), provider),
                provider: provider.into(),
                buckets: hours
                    .into_iter()
                    .map(|h| HourBucket {
                        hour: h.hour,
                        runs: h.runs,
                        failures: h.failures,
                    })
                    .collect(),
            })
            .collect())
    }
}

/// Input of `retryDiscoveryRun`.
#[derive(InputObject)]
pub struct RunIdInput {
    /// The run.
    pub id: ID,
}

/// Input of `cancelDiscovery`.
#[derive(InputObject)]
pub struct CancelDiscoveryInput {
    /// The connection whose discovery to cancel.
    pub connection_id: ID,
}

/// Result of `retryDiscoveryRun`.
#[derive(SimpleObject, Default)]
pub struct DiscoveryRunPayload {
    /// The connection, due now.
    pub connection: Option<ConnectionNode>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Result of `cancelDiscovery`.
#[derive(SimpleObject, Default)]
pub struct CancelDiscoveryPayload {
    /// The connection.
    pub connection: Option<ConnectionNode>,
    /// Waiting jobs removed from the queues.
    pub cancelled_jobs: u64,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Result of `retryFailedDiscoveryRuns`.
#[derive(SimpleObject, Default)]
pub struct RetryFailedPayload {
    /// The connections asked to run again.
    pub connections: Vec<ConnectionNode>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Dashboard actions (admins and owners).
#[derive(Default)]
pub struct DashboardMutations;

#[Object]
impl DashboardMutations {
    /// Runs a failed, partial or cancelled run's connection again, now.
    async fn retry_discovery_run(
        &self,
        ctx: &Context<'_>,
        input: RunIdInput,
    ) -> ApiResult<DiscoveryRunPayload> {
        let viewer = connection_manager(ctx)?;
        let id = ids::decode(&input.id, Kind::DiscoveryRun)?;
        match discovery_runs::retry(state(ctx)?, viewer, id).await {
            Ok(row) => Ok(DiscoveryRunPayload {
                connection: Some(ConnectionNode(row)),
                user_errors: vec![],
            }),
            Err(RetryRefused::Api(err)) => Err(err),
            Err(refused) => Ok(DiscoveryRunPayload {
                connection: None,
                user_errors: vec![UserError::new(
                    Some("id"),
                    UserErrorCode::InvalidInput,
                    refused.message(),
                )],
            }),
        }
    }

    /// Cancels a connection's discovery: waiting jobs are removed and a running one stops
    /// at once, keeping what it listed (nothing is marked gone).
    async fn cancel_discovery(
        &self,
        ctx: &Context<'_>,
        input: CancelDiscoveryInput,
    ) -> ApiResult<CancelDiscoveryPayload> {
        let viewer = connection_manager(ctx)?;
        let id = ids::decode(&input.connection_id, Kind::Connection)?;
        let (row, removed) = connections::cancel_discovery(state(ctx)?, viewer, id).await?;
        Ok(CancelDiscoveryPayload {
            connection: Some(ConnectionNode(row)),
            cancelled_jobs: removed,
            user_errors: vec![],
        })
    }

    /// Runs again every connection whose latest run failed or was partial.
    async fn retry_failed_discovery_runs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<RetryFailedPayload> {
        let viewer = connection_manager(ctx)?;
        let rows = discovery_runs::retry_failed(state(ctx)?, viewer).await?;
        Ok(RetryFailedPayload {
            connections: rows.into_iter().map(ConnectionNode).collect(),
            user_errors: vec![],
        })
    }
}
