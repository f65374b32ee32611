//! The event bus: what discovery, the API and webhooks did, for live subscribers. In-process
//! when Tether runs alone; through Redis pub/sub when `TETHER_REDIS_URL` is set, so a
//! `tether worker`'s events reach the subscribers of every `tether api` process.
//!
//! Events are hints, not a log: a subscriber that lags, or an API process that loses Redis for
//! a moment, misses some, and catches up by reading (`discoveryRuns`, `connections`). Each
//! message carries one organization's events, so delivery filters by tenant before anything
//! else.

mod redis_bus;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Messages a slow subscriber may fall behind by before it skips ahead. A message stays in
/// memory until every subscriber has read it, so this bounds what one stalled client can hold
/// (about 1,024 × 500 repository names).
const SUBSCRIBER_BACKLOG: usize = 1024;

/// Repositories per message: a 100,000-repository first discovery is a few hundred messages,
/// not 100,000.
pub const REPOSITORIES_PER_MESSAGE: usize = 500;

/// One organization's events, published together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Whose events these are.
    pub organization_id: Uuid,
    /// In the order they happened.
    pub events: Vec<Event>,
}

/// Something subscribers may want to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A connection was created, or its status, message or schedule changed.
    ConnectionChanged {
        /// The connection.
        connection_id: Uuid,
        /// Its status now, when that changed (the entity's string value, e.g. `SYNCING`).
        status: Option<String>,
        /// Why, for people.
        message: Option<String>,
    },
    /// A discovery run's counters, a few times a second at most, and once when it ends.
    DiscoveryProgress(Progress),
    /// Someone asked to cancel the connection's running discovery (its worker listens).
    CancelRequested {
        /// The connection.
        connection_id: Uuid,
    },
    /// Repositories appeared, changed, went away upstream, or lost their connection.
    Repositories {
        /// Their connection (`None` once detached).
        connection_id: Option<Uuid>,
        /// What happened to them.
        change: RepositoryChange,
        /// `(id, full name)` of each, at most [`REPOSITORIES_PER_MESSAGE`].
        repositories: Vec<(Uuid, String)>,
    },
}

/// A run's counters so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The run.
    pub run_id: Uuid,
    /// Its connection.
    pub connection_id: Uuid,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// New rows.
    pub added: i64,
    /// Changed rows.
    pub updated: i64,
    /// Rows already current.
    pub unchanged: i64,
    /// Rows marked gone.
    pub gone: i64,
    /// Provider requests sent.
    pub api_requests: i64,
    /// `None` while running; the outcome's string value (`SUCCEEDED`, …) once finished.
    pub outcome: Option<String>,
}

/// What happened to some repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryChange {
    /// Listed for the first time.
    Added,
    /// Their metadata changed (or they came back).
    Updated,
    /// No longer listed by the provider.
    Gone,
    /// Their connection was deleted.
    Detached,
}

/// Publishes and delivers events; cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    /// Delivery to this process's subscribers.
    local: broadcast::Sender<Arc<Message>>,
    /// `Some` in Redis mode: messages go out through Redis and come back to every process,
    /// this one included, so they are never delivered locally twice.
    redis: Option<redis_bus::Publisher>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::in_process()
    }
}

impl EventBus {
    /// A bus inside this process (embedded mode, tests).
    pub fn in_process() -> Self {
        let (local, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self {
            inner: Arc::new(Inner { local, redis: None }),
        }
    }

    /// A bus through Redis pub/sub on `channel`: publishes go out in order from one task, and a
    /// listener (which reconnects by itself) delivers every process's messages here.
    pub fn redis(url: &str, channel: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let (local, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        let redis = redis_bus::Publisher::start(client, channel.to_owned(), local.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                local,
                redis: Some(redis),
            }),
        })
    }

    /// Publishes `events` of `organization_id`; never waits and never fails the caller (a
    /// dropped event is logged; subscribers catch up by reading).
    pub fn publish(&self, organization_id: Uuid, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let message = Message {
            organization_id,
            events,
        };
        match &self.inner.redis {
            Some(redis) => redis.publish(message),
            None => {
                // No subscriber is not an error.
                let _ = self.inner.local.send(Arc::new(message));
            }
        }
    }

    /// Publishes one event.
    pub fn publish_one(&self, organization_id: Uuid, event: Event) {
        self.publish(organization_id, vec![event]);
    }

    /// Publishes repository changes, split into messages of at most
    /// [`REPOSITORIES_PER_MESSAGE`].
    pub fn publish_repositories(
        &self,
        organization_id: Uuid,
        connection_id: Option<Uuid>,
        change: RepositoryChange,
        repositories: Vec<(Uuid, String)>,
    ) {
        for chunk in repositories.chunks(REPOSITORIES_PER_MESSAGE) {
            self.publish_one(
                organization_id,
                Event::Repositories {
                    connection_id,
                    change,
                    repositories: chunk.to_vec(),
                },
            );
        }
    }

    /// Every message from now on (all organizations: the subscriber filters by its own).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.inner.local.subscribe()
    }

    /// How many subscribers this process has right now.
    pub fn subscribers(&self) -> usize {
        self.inner.local.receiver_count()
    }

    /// Whether the Redis listener is subscribed right now (always true in-process).
    pub fn is_listening(&self) -> bool {
        self.inner
            .redis
            .as_ref()
            .is_none_or(redis_bus::Publisher::is_listening)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_messages_arrive_in_order_with_their_organization() {
        let bus = EventBus::in_process();
        let mut rx = bus.subscribe();
        let org = Uuid::now_v7();
        let connection_id = Uuid::now_v7();
        for n in 0..3 {
            bus.publish_one(
                org,
                Event::ConnectionChanged {
                    connection_id,
                    status: Some(format!("S{n}")),
                    message: None,
                },
            );
        }
        for n in 0..3 {
            let message = rx.recv().await.unwrap();
            assert_eq!(message.organization_id, org);
            assert_eq!(
                message.events,
                vec![Event::ConnectionChanged {
                    connection_id,
                    status: Some(format!("S{n}")),
                    message: None
                }]
            );
        }
    }

    #[tokio::test]
    async fn repositories_are_split_into_bounded_messages() {
        let bus = EventBus::in_process();
        let mut rx = bus.subscribe();
        let repos: Vec<_> = (0..1_201)
            .map(|n| (Uuid::now_v7(), format!("g/r{n}")))
            .collect();
        bus.publish_repositories(Uuid::now_v7(), None, RepositoryChange::Added, repos.clone());
        let mut received = Vec::new();
        for expected in [500, 500, 201] {
            let message = rx.recv().await.unwrap();
            let Event::Repositories { repositories, .. } = &message.events[0] else {
                panic!("not a repositories event");
            };
            assert_eq!(repositories.len(), expected);
            received.extend(repositories.iter().cloned());
        }
        assert_eq!(received, repos);
    }

    #[test]
    fn the_wire_form_is_tagged_and_round_trips() {
        let message = Message {
            organization_id: Uuid::nil(),
            events: vec![Event::Repositories {
                connection_id: None,
                change: RepositoryChange::Detached,
                repositories: vec![(Uuid::nil(), "a/b".into())],
            }],
        };
        let wire = serde_json::to_string(&message).unwrap();
        assert!(wire.contains(r#""type":"repositories""#), "{wire}");
        assert!(wire.contains(r#""change":"detached""#), "{wire}");
        assert_eq!(serde_json::from_str::<Message>(&wire).unwrap(), message);
    }
}
