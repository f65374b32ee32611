//! [`Scope`]: one provider's scope, with its provider. The enum is the one place a new
//! provider registers its scope type, so a scope always travels with its provider and nothing
//! can send it to the wrong one.

use super::azure::OrganizationUrl;
use super::bitbucket::WorkspaceId;
use super::github::InstallationId;
use super::gitlab::GitlabGroup;
use crate::endpoints::Endpoints;
use crate::scope::{InvalidInput, ProviderScope, ScopeColumns, ScopeFields, ScopeIdentity};
use entities::{Provider, connection};
use uuid::Uuid;

/// A scope, with its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A GitHub App installation.
    Github(InstallationId),
    /// A GitLab group (with subgroups) on an instance.
    Gitlab(GitlabGroup),
    /// A Bitbucket Cloud workspace.
    Bitbucket(WorkspaceId),
    /// An Azure DevOps organization or collection.
    AzureDevops(OrganizationUrl),
}

/// Runs `$body` with `$s` bound to the provider's own scope type: the one place a new provider
/// registers its scope.
macro_rules! each_scope {
    ($scope:expr, $s:ident => $body:expr) => {
        match $scope {
            $crate::providers::Scope::Github($s) => $body,
            $crate::providers::Scope::Gitlab($s) => $body,
            $crate::providers::Scope::Bitbucket($s) => $body,
            $crate::providers::Scope::AzureDevops($s) => $body,
        }
    };
}

/// A stored connection whose scope no longer parses (edited by hand, or by an older bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection {connection} has an unreadable scope: {cause}")]
pub struct UnreadableScope {
    /// The connection.
    pub connection: Uuid,
    /// What does not parse.
    #[source]
    pub cause: InvalidInput,
}

impl Scope {
    /// The provider it belongs to.
    pub fn provider(&self) -> Provider {
        fn of<S: ProviderScope>(_: &S) -> Provider {
            S::PROVIDER
        }
        each_scope!(self, s => of(s))
    }

    /// Its identity: unique per organization, computed from the input alone.
    pub fn identity(&self, endpoints: &Endpoints) -> ScopeIdentity {
        each_scope!(self, s => s.identity(endpoints))
    }

    /// The input fields its errors are reported on.
    pub fn fields(&self) -> ScopeFields {
        each_scope!(self, s => s.fields())
    }

    /// The connection columns it is stored in.
    pub fn to_columns(&self) -> ScopeColumns {
        each_scope!(self, s => s.to_columns())
    }

    /// Rebuilds the scope a stored connection covers.
    pub fn from_row(row: &connection::Model) -> Result<Self, UnreadableScope> {
        let columns = ScopeColumns::of(row);
        let parsed = match row.provider {
            Provider::Github => InstallationId::from_columns(&columns).map(Self::Github),
            Provider::Gitlab => GitlabGroup::from_columns(&columns).map(Self::Gitlab),
            Provider::Bitbucket => WorkspaceId::from_columns(&columns).map(Self::Bitbucket),
            Provider::AzureDevops => OrganizationUrl::from_columns(&columns).map(Self::AzureDevops),
        };
        parsed.map_err(|cause| UnreadableScope {
            connection: row.id,
            cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::gitlab::GroupPath;

    #[test]
    fn every_scope_reads_back_from_its_columns_with_its_provider() {
        let scopes = [
            Scope::Github(InstallationId::parse("42").unwrap()),
            Scope::Gitlab(GitlabGroup {
                instance: None,
                group: GroupPath::parse("ghost/mygroup").unwrap(),
            }),
            Scope::Bitbucket(WorkspaceId::parse("ghost").unwrap()),
            Scope::AzureDevops(OrganizationUrl::parse("https://dev.azure.com/ghost").unwrap()),
        ];
        for scope in scopes {
            let columns = scope.to_columns();
            let row = connection::Model {
                provider: scope.provider(),
                group_path: columns.group_path,
                instance_url: columns.instance_url,
                workspace_id: columns.workspace_id,
                organization_url: columns.organization_url,
                installation_id: columns.installation_id,
                ..fixture_row()
            };
            assert_eq!(Scope::from_row(&row).unwrap(), scope);
        }
    }

    #[test]
    fn a_row_whose_columns_do_not_parse_names_the_connection() {
        let row = connection::Model {
            provider: Provider::Bitbucket,
            workspace_id: Some("not a slug".into()),
            ..fixture_row()
        };
        let err = Scope::from_row(&row).unwrap_err();
        assert_eq!(err.connection, row.id);
        assert_eq!(err.cause.field, "workspaceId");
    }

    fn fixture_row() -> connection::Model {
        let now = chrono::Utc::now();
        connection::Model {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            provider: Provider::Gitlab,
            name: "x".into(),
            status: entities::ConnectionStatus::Active,
            status_message: None,
            scope_key: "k".into(),
            host: "h".into(),
            group_path: None,
            workspace_id: None,
            organization_url: None,
            instance_url: None,
            installation_id: None,
            credential: None,
            credential_email: None,
            token_hint: None,
            last_discovered_at: None,
            next_discovery_at: None,
            created_at: now,
            updated_at: now,
            discovery_interval_secs: None,
            lease_owner: None,
            lease_until: None,
            cancel_requested_at: None,
            requested_by: None,
        }
    }
}
