//! What every request handler and resolver shares.

use crate::auth::LoginThrottle;
use entities::Keyring;
use jobs::Providers;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Credential encryption keys.
    pub keyring: Arc<Keyring>,
    /// Provider clients.
    pub providers: Providers,
    /// Login throttle.
    pub throttle: Arc<LoginThrottle>,
    /// Runs discoveries (what the job workers call).
    pub discovery: jobs::discovery::Discovery,
    /// Where jobs are enqueued.
    pub queues: jobs::queue::Queues,
    /// GitHub's app, OAuth client, webhook secret and Tether's public URLs.
    pub github: Arc<crate::config::GitHubSettings>,
    /// Live events: published by discovery, mutations and webhooks, delivered to subscriptions.
    pub events: jobs::EventBus,
}
