//! What a connection covers, as every provider's scope type describes itself: its identity,
//! the input fields its errors are reported on, and the columns it is stored in. The scope
//! types live in their providers' folders; `providers::Scope` carries exactly one of them.

pub mod input;

pub use input::{AccessToken, AccountEmail, InvalidInput};

use crate::endpoints::Endpoints;
use entities::{Provider, connection};

/// What every provider's scope type knows about itself.
pub trait ProviderScope: Sized {
    /// The provider it belongs to.
    const PROVIDER: Provider;
    /// Its identity, computed from the input alone so duplicates are caught before any request.
    fn identity(&self, endpoints: &Endpoints) -> ScopeIdentity;
    /// The input fields its errors are reported on.
    fn fields(&self) -> ScopeFields;
    /// The connection columns it is stored in.
    fn to_columns(&self) -> ScopeColumns;
    /// Reads it back from those columns.
    fn from_columns(columns: &ScopeColumns) -> Result<Self, InvalidInput>;
}

/// How a scope is identified: unique per organization, and the host its repositories live on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeIdentity {
    /// e.g. `gitlab:gitlab.com:ghost/mygroup`.
    pub key: String,
    /// e.g. `gitlab.com`.
    pub host: String,
}

/// The input fields a scope's errors are reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeFields {
    /// The field naming the scope (`groupPath`, `workspaceId`, …).
    pub scope: &'static str,
    /// The field holding a user-supplied URL, when there is one.
    pub url: Option<&'static str>,
}

/// The connection columns that store a scope; each provider fills its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeColumns {
    /// GitLab.
    pub group_path: Option<String>,
    /// GitLab, self-managed.
    pub instance_url: Option<String>,
    /// Bitbucket Cloud.
    pub workspace_id: Option<String>,
    /// Azure DevOps.
    pub organization_url: Option<String>,
    /// GitHub.
    pub installation_id: Option<i64>,
}

impl ScopeColumns {
    /// The columns of a stored connection.
    pub fn of(row: &connection::Model) -> Self {
        Self {
            group_path: row.group_path.clone(),
            instance_url: row.instance_url.clone(),
            workspace_id: row.workspace_id.clone(),
            organization_url: row.organization_url.clone(),
            installation_id: row.installation_id,
        }
    }
}
