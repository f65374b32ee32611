//! The Relay `Node` interface.

use super::{
    ApiTokenNode, ConnectionNode, DiscoveryRunNode, FindingNode, LinkedAccountNode,
    OrganizationNode, RepositoryNode, UserNode,
};
use async_graphql::{ID, Interface};

/// Anything with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id."))]
pub enum Node {
    /// A connection.
    Connection(ConnectionNode),
    /// A repository.
    Repository(RepositoryNode),
    /// A finding.
    Finding(FindingNode),
    /// An organization.
    Organization(OrganizationNode),
    /// A user.
    User(UserNode),
    /// An API token.
    ApiToken(ApiTokenNode),
    /// A linked account.
    LinkedAccount(LinkedAccountNode),
    /// A discovery run.
    DiscoveryRun(DiscoveryRunNode),
}
