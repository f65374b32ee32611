//! GraphQL object types, kept apart from the entities they present.

pub mod account;
pub mod connection;
pub mod discovery_run;
pub mod enums;
pub mod finding;
pub mod node;
pub mod repository;
pub mod user_error;

/// A stored count as a GraphQL `Int`, saturating (a counter past 2³¹ is shown as the largest).
pub fn int(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub use account::{ApiTokenNode, LinkedAccountNode, OrganizationNode, UserNode, ViewerNode};
pub use connection::ConnectionNode;
pub use discovery_run::DiscoveryRunNode;
pub use finding::FindingNode;
pub use node::Node;
pub use repository::RepositoryNode;
pub use user_error::{UserError, UserErrorCode};
