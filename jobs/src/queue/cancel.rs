//! Cancelling a deleted connection's waiting jobs, on either backend.

use super::{QUEUES, QueueError, Queues, Storages, queue_name};
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

impl Queues {
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
                .map_err(QueueError::storage)?;
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
                    .map_err(QueueError::storage)
            }
        }
    }
}
