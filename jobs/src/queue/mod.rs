//! Job queues on apalis: one queue per provider (each with its own workers, so one provider's
//! outage never starves another), SQLite in embedded mode and Redis in production, the same
//! job code for both. Payloads carry ids only, as a tagged, versioned enum.

mod cancel;
mod counts;
mod job;
mod worker;

pub use counts::{QueueCounts, discovery_queue};
pub use job::{TetherJob, Trigger};

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use entities::Provider;
use sea_orm::DatabaseConnection;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// Attempts per job before it is given up (the scheduler brings due connections back anyway).
const MAX_ATTEMPTS: usize = 3;

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The storage (SQLite or Redis) refused or failed.
    #[error("job queue storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No queue is configured for this provider and lane (a programming error).
    #[error("no job queue for {0:?}")]
    NoQueue(QueueKey),
}

impl QueueError {
    fn storage(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(err.into())
    }
}

/// Discoveries and refreshes run on separate queues: the one-request-per-repository refresh
/// must never hold the workers a discovery is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Discoveries.
    Discovery,
    /// Metadata refreshes.
    Refresh,
}

/// One queue per provider and lane.
pub type QueueKey = (Provider, Lane);

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
        migrator.run(pool).await.map_err(QueueError::storage)?;
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
        let conn = apalis_redis::connect(url)
            .await
            .map_err(QueueError::storage)?;
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

    /// The prefix of every queue's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
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
                storage.push_task(task).await.map_err(QueueError::storage)
            }
            Storages::Redis(all) => {
                let mut storage = pick(all, key)?.clone();
                storage.push_task(task).await.map_err(QueueError::storage)
            }
        }
    }
}

fn pick<S>(all: &[(QueueKey, S)], key: QueueKey) -> Result<&S, QueueError> {
    all.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| s)
        .ok_or(QueueError::NoQueue(key))
}
