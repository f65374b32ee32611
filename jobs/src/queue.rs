//! Job queues on apalis: one queue per provider (each with its own workers, so one provider's
//! outage never starves another), SQLite in embedded mode and Redis in production, the same
//! job code for both. Payloads carry ids only, as a tagged, versioned enum.

use crate::discovery::{Discovery, Outcome};
use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, Event, EventListenerExt, TaskBuilder, TaskSink,
    WorkerBuilder, WorkerBuilderExt, WorkerContext,
};
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use entities::{DiscoveryTrigger, Provider};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Removes a connection's waiting jobs (active lists and scheduled sets of every queue) with
/// their data and metadata, atomically; queues stay short (bounded scheduler batches), so a scan
/// is cheap.
static CANCEL_SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: per queue, its active list, scheduled set, data hash and metadata prefix.
local removed = 0
for q = 0, #KEYS / 4 - 1 do
  local active, scheduled, data, meta = KEYS[q * 4 + 1], KEYS[q * 4 + 2], KEYS[q * 4 + 3], KEYS[q * 4 + 4]
  local function drop_if_ours(id)
    local payload = redis.call('hget', data, id)
    if payload and string.find(payload, ARGV[1], 1, true) then
      redis.call('hdel', data, id)
      redis.call('del', meta .. ':' .. id)
      removed = removed + 1
      return true
    end
    return false
  end
  for _, id in ipairs(redis.call('lrange', active, 0, -1)) do
    if drop_if_ours(id) then redis.call('lrem', active, 0, id) end
  end
  for _, id in ipairs(redis.call('zrange', scheduled, 0, -1)) do
    if drop_if_ours(id) then redis.call('zrem', scheduled, id) end
  end
end
return removed
",
    )
});

/// Attempts per job before it is given up (the scheduler brings due connections back anyway).
const MAX_ATTEMPTS: usize = 3;
/// How often idle workers look for work.
const POLL: Duration = Duration::from_millis(200);

/// Why a discovery started, as stored in a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The connection was created.
    Created,
    /// The schedule found it due.
    Schedule,
    /// A user asked.
    Manual,
    /// A webhook announced a change.
    Webhook,
}

impl From<Trigger> for DiscoveryTrigger {
    fn from(t: Trigger) -> Self {
        match t {
            Trigger::Created => Self::Created,
            Trigger::Schedule => Self::Schedule,
            Trigger::Manual => Self::Manual,
            Trigger::Webhook => Self::Webhook,
        }
    }
}

/// A job. New shapes get a new variant; old ones stay readable until their jobs are drained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TetherJob {
    /// Discover a connection's repositories.
    #[serde(rename = "discover_repositories.v1")]
    DiscoverRepositoriesV1 {
        /// The connection.
        connection_id: Uuid,
        /// Why.
        trigger: Trigger,
    },
    /// Refresh the head commits of a connection's repositories.
    #[serde(rename = "refresh_metadata.v1")]
    RefreshMetadataV1 {
        /// The connection.
        connection_id: Uuid,
    },
}

/// A queue failure.
#[derive(Debug, thiserror::Error)]
#[error("job queue: {0}")]
pub struct QueueError(String);

fn queue_error(e: impl std::fmt::Display) -> QueueError {
    QueueError(e.to_string())
}

/// Discoveries and refreshes run on separate queues: the one-request-per-repository refresh
/// must never hold the workers a discovery is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Discovery,
    Refresh,
}

/// One queue per provider and lane.
type QueueKey = (Provider, Lane);

const QUEUES: [QueueKey; 8] = [
    (Provider::Github, Lane::Discovery),
    (Provider::Gitlab, Lane::Discovery),
    (Provider::Bitbucket, Lane::Discovery),
    (Provider::AzureDevops, Lane::Discovery),
    (Provider::Github, Lane::Refresh),
    (Provider::Gitlab, Lane::Refresh),
    (Provider::Bitbucket, Lane::Refresh),
    (Provider::AzureDevops, Lane::Refresh),
];

fn queue_name(namespace: &str, (provider, lane): QueueKey) -> String {
    let slug = match provider {
        Provider::Github => "github",
        Provider::Gitlab => "gitlab",
        Provider::Bitbucket => "bitbucket",
        Provider::AzureDevops => "azure-devops",
    };
    let lane = match lane {
        Lane::Discovery => "discovery",
        Lane::Refresh => "refresh",
    };
    format!("{namespace}-{lane}-{slug}")
}

#[derive(Clone)]
enum Storages {
    Sqlite(Vec<(QueueKey, SqliteStorage<TetherJob>)>),
    Redis(Vec<(QueueKey, RedisStorage<TetherJob, ConnectionManager>)>),
}

/// The queues, ready to push to and to work.
#[derive(Clone)]
pub struct Queues {
    storages: Storages,
    namespace: String,
}

impl Queues {
    /// Queues in the SQLite database Tether already uses (embedded mode).
    pub async fn sqlite(
        db: &DatabaseConnection,
        namespace: &str,
        batch: usize,
    ) -> Result<Self, QueueError> {
        let pool = db.get_sqlite_connection_pool();
        let mut migrator = SqliteStorage::<()>::migrations();
        // apalis's own migration history, apart from ours.
        migrator.dangerous_set_table_name("_apalis_migrations");
        migrator.run(pool).await.map_err(queue_error)?;
        let storages = QUEUES
            .iter()
            .map(|p| {
                let config = apalis_sqlite::Config::default()
                    .queue(queue_name(namespace, *p))
                    .batch_size(batch)
                    // An idle SQLite worker sometimes misses the poll interval's wake-ups and
                    // fetches again only at its next heartbeat (measured: a whole queue's jobs
                    // starting ~10 s late), so beat often; ten missed beats still mean dead.
                    .heartbeat_interval(Duration::from_secs(2))
                    .missed_heartbeats(10);
                (*p, SqliteStorage::new(pool).with_config(config))
            })
            .collect();
        Ok(Self {
            storages: Storages::Sqlite(storages),
            namespace: namespace.to_owned(),
        })
    }

    /// Queues in Redis, shared by every `tether worker` process.
    pub async fn redis(url: &str, namespace: &str, batch: usize) -> Result<Self, QueueError> {
        let conn = apalis_redis::connect(url).await.map_err(queue_error)?;
        let storages = QUEUES
            .iter()
            .map(|p| {
                let config = apalis_redis::Config::default()
                    .queue(queue_name(namespace, *p))
                    .batch_size(batch)
                    .heartbeat_interval(Duration::from_secs(10))
                    .missed_heartbeats(3);
                (*p, RedisStorage::new(conn.clone()).with_config(config))
            })
            .collect();
        Ok(Self {
            storages: Storages::Redis(storages),
            namespace: namespace.to_owned(),
        })
    }

    /// Enqueues a discovery of `connection` on its provider's queue, now or at `at`.
    pub async fn discover(
        &self,
        provider: Provider,
        connection_id: Uuid,
        trigger: Trigger,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), QueueError> {
        let job = TetherJob::DiscoverRepositoriesV1 {
            connection_id,
            trigger,
        };
        self.push(provider, job, at).await
    }

    /// Enqueues a metadata refresh of `connection_id` on its provider's queue.
    pub async fn refresh(&self, provider: Provider, connection_id: Uuid) -> Result<(), QueueError> {
        self.push(
            provider,
            TetherJob::RefreshMetadataV1 { connection_id },
            None,
        )
        .await
    }

    /// Removes the jobs of `connection_id` that no worker has taken yet, due now or later, from
    /// every queue (a deleted connection's jobs). A job a worker already holds finds the
    /// connection gone and does nothing. Returns how many were removed.
    pub async fn cancel(&self, connection_id: Uuid) -> Result<u64, QueueError> {
        let needle = connection_id.to_string();
        let names = QUEUES.iter().map(|key| queue_name(&self.namespace, *key));
        match &self.storages {
            Storages::Sqlite(all) => {
                let Some((_, storage)) = all.first() else {
                    return Ok(0);
                };
                // Payloads are JSON ({"type": …, "connection_id": "…"}) stored as bytes.
                let queues = serde_json::Value::from(names.collect::<Vec<_>>()).to_string();
                let done = sea_orm::sqlx::query(
                    "DELETE FROM Jobs WHERE status = 'Pending' AND instr(CAST(job AS TEXT), ?1) > 0 \
                     AND job_type IN (SELECT value FROM json_each(?2))",
                )
                .bind(&needle)
                .bind(queues)
                .execute(storage.pool())
                .await
                .map_err(queue_error)?;
                Ok(done.rows_affected())
            }
            Storages::Redis(all) => {
                let Some((_, storage)) = all.first() else {
                    return Ok(0);
                };
                // Every queue's keys in one call: key names follow the queue's name, as the
                // storage's own config does.
                let mut script = CANCEL_SCRIPT.prepare_invoke();
                for name in names {
                    let config = apalis_redis::Config::default().queue(name);
                    script
                        .key(config.active_jobs_list())
                        .key(config.scheduled_jobs_set())
                        .key(config.job_data_hash())
                        .key(config.job_meta_hash());
                }
                let mut conn = storage.clone().get_connection().clone();
                script
                    .arg(&needle)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(queue_error)
            }
        }
    }

    async fn push(
        &self,
        provider: Provider,
        job: TetherJob,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), QueueError> {
        let lane = match job {
            TetherJob::DiscoverRepositoriesV1 { .. } => Lane::Discovery,
            TetherJob::RefreshMetadataV1 { .. } => Lane::Refresh,
        };
        let key = (provider, lane);
        let task = TaskBuilder::new(job).max_attempts(MAX_ATTEMPTS);
        let task = match at.filter(|at| *at > Utc::now()) {
            Some(at) => task.run_at_time(SystemTime::from(at)),
            None => task,
        }
        .build();
        match &self.storages {
            Storages::Sqlite(all) => {
                let mut storage = pick(all, key)?.clone();
                storage.push_task(task).await.map_err(queue_error)
            }
            Storages::Redis(all) => {
                let mut storage = pick(all, key)?.clone();
                storage.push_task(task).await.map_err(queue_error)
            }
        }
    }

    /// Starts `concurrency` workers per provider queue until `shutdown`; workers that die are
    /// restarted with a growing delay.
    pub fn start_workers(
        &self,
        discovery: Discovery,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        let context = JobContext {
            discovery,
            queues: self.clone(),
        };
        let pid = std::process::id();
        for key in QUEUES {
            let name = queue_name(&self.namespace, key);
            let concurrency = match key.1 {
                Lane::Discovery => concurrency,
                Lane::Refresh => concurrency.div_ceil(2),
            };
            let storages = self.storages.clone();
            let context = context.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let mut restarts = 0u32;
                while !shutdown.is_cancelled() {
                    // Names must be unique per process and per restart.
                    let worker = format!("{name}-{pid}-{restarts}-{}", Uuid::new_v4().simple());
                    let stop = shutdown.clone();
                    let signal = async move {
                        stop.cancelled().await;
                        Ok::<(), std::io::Error>(())
                    };
                    let result = match &storages {
                        Storages::Sqlite(all) => match pick(all, key) {
                            Ok(storage) => WorkerBuilder::new(worker)
                                .backend(storage.clone().poll_with_interval(POLL))
                                .data(context.clone())
                                .concurrency(concurrency)
                                .on_event(log_worker_event)
                                .build(handle)
                                .run_until(signal)
                                .await
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        },
                        Storages::Redis(all) => match pick(all, key) {
                            Ok(storage) => WorkerBuilder::new(worker)
                                .backend(storage.clone().poll_with_interval(POLL))
                                .data(context.clone())
                                .concurrency(concurrency)
                                .on_event(log_worker_event)
                                .build(handle)
                                .run_until(signal)
                                .await
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        },
                    };
                    if let Err(error) = result {
                        restarts += 1;
                        let delay = Duration::from_millis(250 * (1 << restarts.min(8)));
                        tracing::warn!(queue = %name, %error, ?delay, "job worker stopped; restarting");
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = shutdown.cancelled() => {}
                        }
                    }
                }
            });
        }
    }
}

/// Errors a worker meets and survives (fetching, heartbeats) are otherwise silent.
fn log_worker_event(worker: &WorkerContext, event: &Event) {
    if let Event::Error(error) = event {
        tracing::warn!(worker = worker.name(), %error, "job worker error");
    }
}

fn pick<S>(all: &[(QueueKey, S)], key: QueueKey) -> Result<&S, QueueError> {
    all.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| s)
        .ok_or_else(|| QueueError(format!("no queue for {key:?}")))
}

/// What job handlers share.
#[derive(Clone)]
struct JobContext {
    discovery: Discovery,
    queues: Queues,
}

async fn handle(
    job: TetherJob,
    context: Data<JobContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    match job {
        TetherJob::DiscoverRepositoriesV1 {
            connection_id,
            trigger,
        } => {
            // A task of its own, so concurrent jobs of one worker use every runtime thread.
            let discovery = context.discovery.clone();
            let outcome =
                tokio::spawn(async move { discovery.run(connection_id, trigger.into()).await })
                    .await
                    .map_err(|e| -> BoxDynError { format!("discovery task failed: {e}").into() })?;
            match outcome {
                Ok(Outcome::Finished(report)) => {
                    // Fresh listings are followed by fresh head commits.
                    if report.outcome != entities::DiscoveryOutcome::Failed
                        && let Some(provider) = report.provider
                        && let Err(err) = context.queues.refresh(provider, connection_id).await
                    {
                        tracing::warn!(connection = %connection_id, error = %err, "could not enqueue a refresh");
                    }
                    Ok(())
                }
                Ok(Outcome::Missing | Outcome::Busy) => Ok(()),
                Err(err) => {
                    tracing::warn!(connection = %connection_id, attempt = attempt.current(), error = %err, "discovery job failed");
                    Err(Box::new(err))
                }
            }
        }
        TetherJob::RefreshMetadataV1 { connection_id, .. } => {
            let discovery = context.discovery.clone();
            tokio::spawn(async move { discovery.refresh(connection_id).await })
                .await
                .map_err(|e| -> BoxDynError { format!("refresh task failed: {e}").into() })?
                .map(|_| ())
                .map_err(|e| -> BoxDynError { Box::new(e) })
        }
    }
}
