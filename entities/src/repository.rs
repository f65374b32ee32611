//! A repository, identified by (provider host, provider's stable id) so renames and
//! transfers keep their history and findings.

use crate::{Provider, RepositoryState, Visibility};
use sea_orm::entity::prelude::*;

/// A repository row; (organization, host, external_id) is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repositories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The scope it was first discovered under, then the scope of the last connection that
    /// covered it once it is detached, so re-adding that scope re-attaches it. Which
    /// connections list it is in `repository_connection`.
    pub scope_key: String,
    pub provider: Provider,
    pub host: String,
    pub external_id: String,
    pub name: String,
    pub full_name: String,
    pub web_url: Option<String>,
    pub clone_url: Option<String>,
    pub default_branch: Option<String>,
    pub visibility: Visibility,
    pub archived: bool,
    /// Disabled upstream: nobody can read it; not scanned, its head commit not fetched.
    pub disabled: bool,
    pub fork: bool,
    pub language: Option<String>,
    pub size_kb: Option<i64>,
    /// A JSON array of strings.
    pub topics: Json,
    pub last_pushed_at: Option<DateTimeUtc>,
    pub head_commit_sha: Option<String>,
    pub etag: Option<String>,
    pub state: RepositoryState,
    pub scan_enabled: bool,
    /// The state before its last connection was deleted, restored on re-attach.
    pub detached_state: Option<RepositoryState>,
    /// The scan flag before its connection was deleted, restored on re-attach.
    pub detached_scan_enabled: Option<bool>,
    pub first_seen_at: DateTimeUtc,
    pub refreshed_at: DateTimeUtc,
}

/// Repositories relate to connections and findings through explicit ids.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// All repositories of one organization.
    pub fn find_in_org(organization: Uuid) -> Select<Entity> {
        Self::find().filter(Column::OrganizationId.eq(organization))
    }
}

impl Model {
    /// The topics as strings (malformed entries are skipped).
    pub fn topic_list(&self) -> Vec<String> {
        self.topics
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
