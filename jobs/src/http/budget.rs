//! Rate-limit budgets shared by every worker that uses one credential against one host: when a
//! provider says "wait", every worker waits. In-process in embedded mode; in Redis when several
//! worker processes share the work.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Where workers record and read "nobody calls this host with this credential until …".
#[async_trait::async_trait]
pub trait RateBudget: Send + Sync {
    /// The time before which no request should be sent under `key`, if any.
    async fn blocked_until(&self, key: &str) -> Option<DateTime<Utc>>;
    /// Records that requests under `key` must wait until `until`.
    async fn block_until(&self, key: &str, until: DateTime<Utc>);
}

/// A budget shared by the workers of one process.
#[derive(Debug, Default)]
pub struct LocalBudget {
    blocked: Mutex<HashMap<String, DateTime<Utc>>>,
}

#[async_trait::async_trait]
impl RateBudget for LocalBudget {
    async fn blocked_until(&self, key: &str) -> Option<DateTime<Utc>> {
        let now = Utc::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match blocked.get(key).copied() {
            Some(until) if until > now => Some(until),
            Some(_) => {
                blocked.remove(key);
                None
            }
            None => None,
        }
    }

    async fn block_until(&self, key: &str, until: DateTime<Utc>) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let entry = blocked.entry(key.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }
}

/// A budget shared by every worker process through Redis. A Redis failure never blocks work:
/// the providers' own 429s still slow us down.
#[derive(Clone)]
pub struct RedisBudget {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

/// Keeps the later of the stored and the new time (never shortens another worker's wait).
const EXTEND: &str = r#"
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"#;

impl RedisBudget {
    /// Connects to `url`; keys are `{prefix}:{budget key}`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }
}

#[async_trait::async_trait]
impl RateBudget for RedisBudget {
    async fn blocked_until(&self, key: &str) -> Option<DateTime<Utc>> {
        let mut conn = self.conn.clone();
        let stored: Option<i64> = match redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
        {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(error = %err, "rate-limit budget unavailable in Redis");
                return None;
            }
        };
        stored
            .and_then(DateTime::from_timestamp_millis)
            .filter(|until| *until > Utc::now())
    }

    async fn block_until(&self, key: &str, until: DateTime<Utc>) {
        let ttl = (until - Utc::now()).num_milliseconds();
        if ttl <= 0 {
            return;
        }
        let mut conn = self.conn.clone();
        let result: Result<i64, _> = redis::Script::new(EXTEND)
            .key(self.key(key))
            .arg(until.timestamp_millis())
            .arg(ttl)
            .invoke_async(&mut conn)
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not record a rate-limit wait in Redis");
        }
    }
}

/// The budget key of a credential on a host: a SHA-256 digest, so no token is kept in memory
/// maps or Redis keys, and stable across builds and versions, so two versions of Tether running
/// side by side during a rolling deploy share one budget (from the release that introduced it
/// on: that one deploy still splits budgets from the old per-build hash).
pub fn budget_key(host: &str, credential: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(credential.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ratelimit:{host}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_expire_and_only_extend() {
        let budget = LocalBudget::default();
        let later = Utc::now() + chrono::Duration::seconds(60);
        budget.block_until("k", later).await;
        budget
            .block_until("k", Utc::now() + chrono::Duration::seconds(1))
            .await;
        assert_eq!(budget.blocked_until("k").await, Some(later));
        budget
            .block_until("old", Utc::now() - chrono::Duration::seconds(1))
            .await;
        assert_eq!(budget.blocked_until("old").await, None);
        assert!(!budget_key("gitlab.com", "glpat-secret").contains("secret"));
    }

    #[test]
    fn budget_keys_are_the_same_in_every_build() {
        // SHA-256 of "glpat-secret": any version of Tether computes this same key.
        assert_eq!(
            budget_key("gitlab.com", "glpat-secret"),
            "ratelimit:gitlab.com:6105911cb29a76a1"
        );
        assert_ne!(
            budget_key("gitlab.com", "glpat-secret"),
            budget_key("gitlab.com", "glpat-secres")
        );
    }

    #[tokio::test]
    async fn two_workers_on_one_redis_share_a_wait() {
        let url = std::env::var("TETHER_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let first = RedisBudget::connect(&url, &prefix)
            .await
            .expect("Redis is running on 127.0.0.1:6379");
        let second = RedisBudget::connect(&url, &prefix).await.unwrap();
        let until = Utc::now() + chrono::Duration::seconds(30);
        first.block_until("gitlab.com:abc", until).await;
        second
            .block_until("gitlab.com:abc", Utc::now() + chrono::Duration::seconds(5))
            .await;
        let seen = second.blocked_until("gitlab.com:abc").await.unwrap();
        assert_eq!(seen.timestamp_millis(), until.timestamp_millis());
        assert_eq!(second.blocked_until("other").await, None);
    }
}
