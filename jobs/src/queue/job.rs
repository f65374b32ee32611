//! What a job carries: ids only, as a tagged, versioned enum, so a job enqueued by one version
//! of Tether is still read by the next.

use entities::DiscoveryTrigger;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// Someone retried a failed run.
    Retry,
}

impl From<Trigger> for DiscoveryTrigger {
    fn from(t: Trigger) -> Self {
        match t {
            Trigger::Created => Self::Created,
            Trigger::Schedule => Self::Schedule,
            Trigger::Manual => Self::Manual,
            Trigger::Webhook => Self::Webhook,
            Trigger::Retry => Self::Retry,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_their_stored_shape() {
        let id = Uuid::nil();
        let job = TetherJob::DiscoverRepositoriesV1 {
            connection_id: id,
            trigger: Trigger::Schedule,
        };
        let stored = serde_json::to_value(&job).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"type": "discover_repositories.v1", "connection_id": id, "trigger": "schedule"})
        );
        assert_eq!(serde_json::from_value::<TetherJob>(stored).unwrap(), job);
        let refresh = serde_json::json!({"type": "refresh_metadata.v1", "connection_id": id});
        assert_eq!(
            serde_json::from_value::<TetherJob>(refresh).unwrap(),
            TetherJob::RefreshMetadataV1 { connection_id: id }
        );
    }
}
