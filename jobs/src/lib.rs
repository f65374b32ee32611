//! Everything that talks to source-code providers: parsed scope and credential types, the SSRF
//! guard, and one client module per provider behind the [`providers::ProviderClient`] trait.

pub mod budget;
pub mod discovery;
pub mod error;
pub mod fetch;
pub mod listing;
pub mod net;
pub mod providers;
pub mod queue;
pub mod ratelimit;
pub mod refresh;
pub mod scheduler;
pub mod scope;

pub use error::CheckError;
pub use net::{HttpClients, NetworkPolicy};
pub use providers::{Endpoints, ProviderClient, Providers, ValidatedScope};
pub use scope::{
    AccessToken, AccountEmail, GroupPath, InstallationId, InstanceUrl, InvalidInput,
    OrganizationUrl, Scope, ScopeIdentity, WorkspaceId,
};
