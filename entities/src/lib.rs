//! Tether's data model: sea-orm entities, typed enums, tenant-scoped finders and the
//! sealed-credential column type. A leaf crate: it knows nothing of HTTP, GraphQL or providers.

pub mod api_token;
pub mod connection;
pub mod discovery_run;
pub mod enums;
pub mod finding;
pub mod linked_account;
pub mod membership;
pub mod oauth_state;
pub mod organization;
pub mod repository;
pub mod repository_connection;
pub mod sealed;
pub mod user;
pub mod webhook_delivery;

pub use enums::{
    ConnectionStatus, DiscoveryOutcome, DiscoveryTrigger, Provider, RepositoryState, Role,
    TokenKind, Visibility,
};
pub use sealed::{KeyId, Keyring, KeyringError, SealContext, SealedSecret};

/// A fresh, time-ordered identifier: ordering rows by id is ordering them by creation.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
