//! One provider scope (a GitLab group, a Bitbucket workspace, an Azure DevOps organization,
//! a GitHub App installation) and its sealed credential.

use crate::{ConnectionStatus, Provider, SealContext, SealedSecret};
use sea_orm::entity::prelude::*;

/// A connection row; (organization, scope_key) is unique so a scope is connected once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub provider: Provider,
    pub name: String,
    pub status: ConnectionStatus,
    pub status_message: Option<String>,
    /// Canonical identity of the scope, e.g. `gitlab:gitlab.com:ghost/mygroup`.
    pub scope_key: String,
    /// Host that repositories of this scope are identified under.
    pub host: String,
    pub group_path: Option<String>,
    pub workspace_id: Option<String>,
    pub organization_url: Option<String>,
    pub instance_url: Option<String>,
    pub installation_id: Option<i64>,
    /// The provider credential, sealed to (connections, id, credential).
    pub credential: Option<SealedSecret>,
    /// Atlassian account email for Basic auth with an API token (Bitbucket).
    pub credential_email: Option<String>,
    /// The last four characters of the credential, for people to recognise it.
    pub token_hint: Option<String>,
    pub last_discovered_at: Option<DateTimeUtc>,
    pub next_discovery_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The adaptive gap between discoveries, in seconds.
    pub discovery_interval_secs: Option<i64>,
    /// The discovery run holding this connection, while one runs.
    pub lease_owner: Option<Uuid>,
    /// When that hold lapses unless renewed (a crashed worker's lease expires by itself).
    pub lease_until: Option<DateTimeUtc>,
    /// Set by `cancelDiscovery` while a run holds the lease; the run hears it on the event bus, or reads it at its next lease renewal.
    pub cancel_requested_at: Option<DateTimeUtc>,
    /// GitHub: the user id of the linked account that requested an installation an
    /// organization owner must approve (the connection waits, `PENDING`, for that approval).
    pub requested_by: Option<String>,
}

/// Connections relate to repositories through `repositories.connection_id`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// All connections of one organization: the only way the API reads connections.
    pub fn find_in_org(organization: Uuid) -> Select<Entity> {
        Self::find().filter(Column::OrganizationId.eq(organization))
    }

    /// One connection, only if it belongs to `organization`.
    pub fn find_in_org_by_id(organization: Uuid, id: Uuid) -> Select<Entity> {
        Self::find_in_org(organization).filter(Column::Id.eq(id))
    }
}

/// What binds a connection's sealed credential to its row.
pub fn credential_context(id: Uuid) -> SealContext {
    SealContext::new("connections", id, "credential")
}
