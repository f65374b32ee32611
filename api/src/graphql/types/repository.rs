//! The `Repository` GraphQL type.

use super::connection::ConnectionNode;
use super::enums::{Provider, RepositoryState, Visibility};
use super::finding::FindingNode;
use crate::graphql::context::{state, viewer};
use crate::graphql::errors::{ApiError, ApiResult};
use crate::graphql::ids::{Kind, encode};
use crate::graphql::loaders::{ConnectionLoader, RepositoryConnectionsLoader};
use crate::graphql::pagination::{Page, PageArgs, paginate};
use crate::services::repositories;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entities::{finding, repository};

/// A repository, identified by its provider's stable id.
pub struct RepositoryNode(pub repository::Model);

impl RepositoryNode {
    /// Its connections, as `connections` answers.
    async fn linked(&self, ctx: &Context<'_>) -> ApiResult<Vec<ConnectionNode>> {
        let ids = ctx
            .data::<DataLoader<RepositoryConnectionsLoader>>()
            .map_err(|_| ApiError::Internal("connections loader missing".into()))?
            .load_one(self.0.id)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .unwrap_or_default();
        let mut found = ctx
            .data::<DataLoader<ConnectionLoader>>()
            .map_err(|_| ApiError::Internal("connection loader missing".into()))?
            .load_many(ids.iter().copied())
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id))
            .filter(|c| c.organization_id == self.0.organization_id)
            .map(ConnectionNode)
            .collect())
    }
}

#[Object(name = "Repository")]
impl RepositoryNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Repository, self.0.id)
    }
    /// The provider.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// The provider's stable id for it.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// Short name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Full path, e.g. `ghost/mygroup/api`.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    /// Web page.
    async fn web_url(&self) -> Option<&str> {
        self.0.web_url.as_deref()
    }
    /// HTTPS clone URL.
    async fn clone_url(&self) -> Option<&str> {
        self.0.clone_url.as_deref()
    }
    /// Default branch.
    async fn default_branch(&self) -> Option<&str> {
        self.0.default_branch.as_deref()
    }
    /// Visibility.
    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }
    /// Archived upstream.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// Disabled upstream (Azure DevOps' `isDisabled`, GitHub's `disabled`): nobody can read
    /// it, so it is not scanned and its head commit is not fetched.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    /// A fork.
    async fn fork(&self) -> bool {
        self.0.fork
    }
    /// Main language.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }
    /// Size in KiB.
    async fn size_kb(&self) -> Option<i64> {
        self.0.size_kb
    }
    /// Topics.
    async fn topics(&self) -> Vec<String> {
        self.0.topic_list()
    }
    /// Last push or activity.
    async fn last_pushed_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_pushed_at
    }
    /// Head commit of the default branch.
    async fn head_commit_sha(&self) -> Option<&str> {
        self.0.head_commit_sha.as_deref()
    }
    /// Active, gone upstream, or detached from a deleted connection.
    async fn state(&self) -> RepositoryState {
        self.0.state.into()
    }
    /// Whether the analysis engine should scan it (never while it is disabled).
    async fn scan_enabled(&self) -> bool {
        self.0.scan_enabled && !self.0.disabled
    }
    /// First discovered.
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }
    /// Metadata last refreshed.
    async fn refreshed_at(&self) -> DateTime<Utc> {
        self.0.refreshed_at
    }
    /// The connections that list it, in the order they first did; for a repository none lists
    /// any more, those that listed it last. Empty once detached.
    async fn connections(&self, ctx: &Context<'_>) -> ApiResult<Vec<ConnectionNode>> {
        self.linked(ctx).await
    }
    /// The first of its connections; null once detached.
    #[graphql(
        deprecation = "A repository may be listed by several connections: use `connections`."
    )]
    async fn connection(&self, ctx: &Context<'_>) -> ApiResult<Option<ConnectionNode>> {
        Ok(self.linked(ctx).await?.into_iter().next())
    }
    /// Findings of the analysis engine, oldest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 100) as usize * child_complexity")]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<FindingNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        paginate(
            &state(ctx)?.db,
            repositories::findings_of(viewer, self.0.id),
            finding::Column::Id,
            args,
            |f| f.id,
            FindingNode,
        )
        .await
    }
}
