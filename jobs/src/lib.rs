//! Everything that talks to source-code providers and everything that runs in the background:
//! the scope and credential types, one folder per provider behind
//! [`providers::ProviderClient`], the one HTTP stack they all use (retries, rate-limit budgets,
//! body caps, the SSRF guard), the discovery and metadata-refresh jobs, their queues and the
//! scheduler.

pub mod check;
pub mod discovery;
pub mod endpoints;
pub mod events;
pub mod housekeeping;
pub mod http;
pub mod providers;
pub mod queue;
pub mod refresh;
pub mod scheduler;
pub mod scope;

pub use check::CheckError;
pub use endpoints::Endpoints;
pub use events::EventBus;
pub use http::{HttpClients, NetworkPolicy};
pub use providers::{Credential, ProviderClient, Providers, Scope, ValidatedScope};
pub use scope::{AccessToken, AccountEmail, InvalidInput, ScopeIdentity};
