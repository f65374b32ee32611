//! Rate-limit budgets shared by every worker that uses one credential against one host: when a
//! provider says "wait", every worker waits. In-process for embedded mode; Redis (later) for
//! several worker processes.

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

/// The budget key of a credential on a host: a digest, so no token is kept in memory maps or
/// Redis keys.
pub fn budget_key(host: &str, credential: &str) -> String {
    use std::hash::{Hash, Hasher};
    // Not a security boundary (only a partition key), but it must not reveal the token.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    credential.hash(&mut hasher);
    format!("ratelimit:{host}:{:016x}", hasher.finish())
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
}
