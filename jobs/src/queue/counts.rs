//! How many jobs each queue holds, by state, for the dashboard: read from the storage itself
//! (apalis's own statistics name their figures in free text and leave out scheduled jobs).

use super::{Lane, QUEUES, QueueError, QueueKey, Queues, Storages, queue_name};
use entities::Provider;
use std::time::{SystemTime, UNIX_EPOCH};

/// One queue's jobs by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCounts {
    /// The queue's name (with the namespace).
    pub name: String,
    /// Whose jobs it holds.
    pub provider: Provider,
    /// Discoveries or refreshes.
    pub lane: Lane,
    /// Due now, waiting for a worker.
    pub pending: u64,
    /// Held by a worker.
    pub running: u64,
    /// Due later (a retry's backoff, a rate limit's reset).
    pub scheduled: u64,
    /// Given up after their attempts.
    pub failed: u64,
    /// Finished (as long as the storage keeps them).
    pub done: u64,
}

/// Counts one Redis queue: pending is the active list plus scheduled jobs already due, running
/// is every registered worker's in-flight set.
static COUNT_SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: active list, scheduled set, done set, dead set, workers set. ARGV: in-flight prefix, now.
local now = tonumber(ARGV[2])
local due = redis.call('zcount', KEYS[2], '-inf', now)
local later = redis.call('zcard', KEYS[2]) - due
local running = 0
for _, worker in ipairs(redis.call('zrange', KEYS[5], 0, -1)) do
  running = running + redis.call('scard', ARGV[1] .. ':' .. worker)
end
return {redis.call('llen', KEYS[1]) + due, running, later, redis.call('scard', KEYS[4]), redis.call('scard', KEYS[3])}
",
    )
});

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Queues {
    /// Every queue's jobs by state, in a fixed order (discovery queues first).
    pub async fn counts(&self) -> Result<Vec<QueueCounts>, QueueError> {
        let mut all = Vec::with_capacity(QUEUES.len());
        for key in QUEUES {
            let name = queue_name(&self.namespace, key);
            let [pending, running, scheduled, failed, done] = self.count(key, &name).await?;
            all.push(QueueCounts {
                name,
                provider: key.0,
                lane: key.1,
                pending,
                running,
                scheduled,
                failed,
                done,
            });
        }
        Ok(all)
    }

    async fn count(&self, key: QueueKey, name: &str) -> Result<[u64; 5], QueueError> {
        match &self.storages {
            Storages::Sqlite(all) => {
                let storage = super::pick(all, key)?;
                let row: (i64, i64, i64, i64, i64) = sea_orm::sqlx::query_as(
                    "SELECT \
                       COALESCE(SUM(status IN ('Pending', 'Queued') AND run_at <= ?2), 0), \
                       COALESCE(SUM(status = 'Running'), 0), \
                       COALESCE(SUM(status IN ('Pending', 'Queued') AND run_at > ?2), 0), \
                       COALESCE(SUM(status IN ('Failed', 'Killed')), 0), \
                       COALESCE(SUM(status = 'Done'), 0) \
                     FROM Jobs WHERE job_type = ?1",
                )
                .bind(name)
                .bind(now_secs())
                .fetch_one(storage.pool())
                .await
                .map_err(QueueError::storage)?;
                let (a, b, c, d, e) = row;
                Ok([a, b, c, d, e].map(|n| n.max(0) as u64))
            }
            Storages::Redis(all) => {
                let storage = super::pick(all, key)?;
                let config = apalis_redis::Config::default().queue(name);
                let mut conn = storage.clone().get_connection().clone();
                let counts: Vec<i64> = COUNT_SCRIPT
                    .prepare_invoke()
                    .key(config.active_jobs_list())
                    .key(config.scheduled_jobs_set())
                    .key(config.done_jobs_set())
                    .key(config.dead_jobs_set())
                    .key(config.workers_set())
                    .arg(config.inflight_jobs_set())
                    .arg(now_secs())
                    .invoke_async(&mut conn)
                    .await
                    .map_err(QueueError::storage)?;
                let at = |i: usize| counts.get(i).copied().unwrap_or_default().max(0) as u64;
                Ok([at(0), at(1), at(2), at(3), at(4)])
            }
        }
    }
}

/// The queue a provider's discoveries run on, as [`Queues::counts`] names it.
pub fn discovery_queue(namespace: &str, provider: Provider) -> String {
    queue_name(namespace, (provider, Lane::Discovery))
}
