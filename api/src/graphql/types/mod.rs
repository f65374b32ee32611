//! GraphQL object types, kept apart from the entities they present.

pub mod account;
pub mod connection;
pub mod discovery_run;
pub mod enums;
pub mod finding;
pub mod node;
pub mod repository;
pub mod user_error;

pub use account::{ApiTokenNode, LinkedAccountNode, OrganizationNode, UserNode, ViewerNode};
pub use connection::ConnectionNode;
pub use discovery_run::DiscoveryRunNode;
pub use finding::FindingNode;
pub use node::Node;
pub use repository::RepositoryNode;
pub use user_error::{UserError, UserErrorCode};
