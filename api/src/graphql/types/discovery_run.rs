//! Discovery runs, queues and run history: what the job dashboard shows.

use super::enums::{DiscoveryOutcome, DiscoveryTrigger, JobLane, Provider};
use super::{ConnectionNode, int};
use crate::graphql::errors::{ApiError, ApiResult};
use crate::graphql::ids::{Kind, encode};
use crate::graphql::loaders::ConnectionLoader;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::discovery_run;

/// One discovery of one connection.
pub struct DiscoveryRunNode(pub discovery_run::Model);

impl DiscoveryRunNode {
    async fn load_connection(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<entities::connection::Model>> {
        let Some(id) = self.0.connection_id else {
            return Ok(None);
        };
        let loader = ctx
            .data::<DataLoader<ConnectionLoader>>()
            .map_err(|_| ApiError::Internal("connection loader missing".into()))?;
        loader
            .load_one(id)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

#[Object(name = "DiscoveryRun")]
impl DiscoveryRunNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::DiscoveryRun, self.0.id)
    }
    /// Its connection; null once deleted.
    async fn connection(&self, ctx: &Context<'_>) -> ApiResult<Option<ConnectionNode>> {
        Ok(self.load_connection(ctx).await?.map(ConnectionNode))
    }
    /// Its connection's name; null once the connection is deleted.
    async fn connection_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(self.load_connection(ctx).await?.map(|c| c.name))
    }
    /// The provider whose queue ran it.
    async fn provider(&self) -> Option<Provider> {
        self.0.provider.map(Into::into)
    }
    /// Why it started.
    async fn trigger(&self) -> DiscoveryTrigger {
        self.0.trigger.into()
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When it ended; null while running.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// How long it took, in milliseconds; null while running.
    async fn duration_ms(&self) -> Option<i32> {
        self.0
            .finished_at
            .map(|end| int((end - self.0.started_at).num_milliseconds().max(0)))
    }
    /// How it ended; null while running.
    async fn outcome(&self) -> Option<DiscoveryOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// New repositories.
    async fn added(&self) -> i32 {
        int(self.0.added)
    }
    /// Changed repositories.
    async fn updated(&self) -> i32 {
        int(self.0.updated)
    }
    /// Repositories already current.
    async fn unchanged(&self) -> i32 {
        int(self.0.unchanged)
    }
    /// Repositories no longer listed.
    async fn gone(&self) -> i32 {
        int(self.0.gone)
    }
    /// Provider requests sent.
    async fn api_requests(&self) -> i32 {
        int(self.0.api_requests)
    }
    /// Times it waited for a rate limit.
    async fn rate_limit_waits(&self) -> i32 {
        int(self.0.rate_limit_waits)
    }
    /// What went wrong, structured.
    async fn issues(&self) -> Vec<DiscoveryIssue> {
        DiscoveryIssue::from_json(&self.0.issues)
    }
}

/// One problem a run met.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryIssue {
    /// Stable code, e.g. `RATE_LIMITED`, `UNAUTHORIZED`, `CANCELLED`.
    pub code: String,
    /// What happened, for people.
    pub message: String,
    /// What it is about.
    pub subject: Option<String>,
}

impl DiscoveryIssue {
    /// The issues a run row stores (entries that are not objects are skipped).
    fn from_json(issues: &serde_json::Value) -> Vec<Self> {
        let field = |issue: &serde_json::Value, name: &str| {
            issue.get(name).and_then(|v| v.as_str()).map(str::to_owned)
        };
        issues
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|i| i.is_object())
                    .map(|issue| Self {
                        code: field(issue, "code").unwrap_or_default(),
                        message: field(issue, "message").unwrap_or_default(),
                        subject: field(issue, "subject"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One job queue's jobs by state.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "JobQueue")]
pub struct JobQueueNode {
    /// The queue's name.
    pub name: String,
    /// Whose jobs.
    pub provider: Provider,
    /// Discoveries or refreshes.
    pub lane: JobLane,
    /// Due now, waiting for a worker.
    pub pending: u64,
    /// Held by a worker.
    pub running: u64,
    /// Due later (retries, rate-limit resets).
    pub scheduled: u64,
    /// Given up after their attempts.
    pub failed: u64,
    /// Finished, as long as the queue keeps them.
    pub done: u64,
}

/// Runs per hour of one provider's discovery queue.
#[derive(SimpleObject, Debug, Clone)]
pub struct QueueHistory {
    /// The queue's name.
    pub queue: String,
    /// Whose discoveries.
    pub provider: Provider,
    /// One per hour, oldest first.
    pub buckets: Vec<HourBucket>,
}

/// One hour of a queue's runs.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct HourBucket {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Runs started in it.
    pub runs: u32,
    /// Of which failed or partial.
    pub failures: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_issues_are_read_leniently() {
        let issues = DiscoveryIssue::from_json(&serde_json::json!([
            {"code": "RATE_LIMITED", "message": "wait", "subject": "gitlab:g"},
            {"code": "WORKER_LOST"},
            "not an object"
        ]));
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].subject.as_deref(), Some("gitlab:g"));
        assert_eq!(issues[1].message, "");
        assert!(DiscoveryIssue::from_json(&serde_json::json!({})).is_empty());
    }
}
