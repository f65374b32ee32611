//! The `Connection` GraphQL type.

use super::enums::{ConnectionStatus, Provider};
use super::repository::RepositoryNode;
use crate::graphql::context::{state, viewer};
use crate::graphql::errors::{ApiError, ApiResult};
use crate::graphql::ids::{Kind, encode};
use crate::graphql::loaders::RepositoryCountLoader;
use crate::graphql::pagination::{Page, PageArgs, paginate};
use crate::services::repositories::{self, RepositoryFilter};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entities::{connection, repository};

/// One provider scope and its credential (never exposed, only its hint).
pub struct ConnectionNode(pub connection::Model);

#[Object(name = "Connection")]
impl ConnectionNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Connection, self.0.id)
    }
    /// The provider.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// A name for people.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Health.
    async fn status(&self) -> ConnectionStatus {
        self.0.status.into()
    }
    /// Why it has that status, for people.
    async fn status_message(&self) -> Option<&str> {
        self.0.status_message.as_deref()
    }
    /// GitLab group path.
    async fn group_path(&self) -> Option<&str> {
        self.0.group_path.as_deref()
    }
    /// Bitbucket workspace ID.
    async fn workspace_id(&self) -> Option<&str> {
        self.0.workspace_id.as_deref()
    }
    /// Azure DevOps organization URL.
    async fn organization_url(&self) -> Option<&str> {
        self.0.organization_url.as_deref()
    }
    /// GitLab instance URL.
    async fn instance_url(&self) -> Option<&str> {
        self.0.instance_url.as_deref()
    }
    /// GitHub App installation id.
    async fn installation_id(&self) -> Option<String> {
        self.0.installation_id.map(|i| i.to_string())
    }
    /// The credential's last characters, e.g. `…a1b2`.
    async fn token_hint(&self) -> Option<&str> {
        self.0.token_hint.as_deref()
    }
    /// Repositories currently listed by the provider.
    async fn repository_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let loader = ctx
            .data::<DataLoader<RepositoryCountLoader>>()
            .map_err(|_| ApiError::Internal("count loader missing".into()))?;
        let count = loader
            .load_one(self.0.id)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(count.unwrap_or(0))
    }
    /// When discovery last finished.
    async fn last_discovered_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_discovered_at
    }
    /// When discovery runs next.
    async fn next_discovery_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_discovery_at
    }
    /// Its current discovery interval in seconds (it adapts to how often the scope changes);
    /// null before its first discovery.
    async fn discovery_interval_seconds(&self) -> Option<i32> {
        self.0.discovery_interval_secs.map(super::int)
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its repositories, oldest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 100) as usize * child_complexity")]
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<RepositoryNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let filter = RepositoryFilter {
            connection: Some(self.0.id),
            ..RepositoryFilter::default()
        };
        paginate(
            &state(ctx)?.db,
            repositories::select(viewer, &filter),
            repository::Column::Id,
            args,
            |r| r.id,
            RepositoryNode,
        )
        .await
    }
}
