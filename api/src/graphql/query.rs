//! Read-only queries, all scoped to the viewer's organization.

use super::context::{state, viewer};
use super::errors::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::pagination::{Page, PageArgs, paginate};
use super::types::enums::{ConnectionStatus, Provider, RepositoryState};
use super::types::{
    ApiTokenNode, ConnectionNode, DiscoveryRunNode, FindingNode, LinkedAccountNode, Node,
    OrganizationNode, RepositoryNode, UserNode, ViewerNode,
};
use crate::services::github_flow::{self, FlowError};
use crate::services::github_install;
use crate::services::repositories::{self, RepositoryFilter, SearchTerm};
use crate::services::{accounts, connections, discovery_runs, linked_accounts, members, sessions};
use async_graphql::{Context, ID, Object};

/// Queries over the organization's data.
#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// The caller, their organization and role.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Option<ViewerNode>> {
        let viewer = viewer(ctx)?;
        let (user, organization) = accounts::profile(&state(ctx)?.db, viewer).await?;
        Ok(Some(ViewerNode {
            user: UserNode(user),
            organization: OrganizationNode(organization),
            role: viewer.role.into(),
        }))
    }

    /// Any object by global id; another organization's ids answer NOT_FOUND.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let viewer = viewer(ctx)?;
        let state = state(ctx)?;
        let db = &state.db;
        let (kind, uuid) = ids::decode_any(&id).ok_or(ApiError::NotFound)?;
        let node = match kind {
            Kind::Connection => Node::Connection(ConnectionNode(
                connections::find(state, viewer, uuid).await?,
            )),
            Kind::Repository => {
                Node::Repository(RepositoryNode(repositories::find(db, viewer, uuid).await?))
            }
            Kind::Finding => Node::Finding(FindingNode(
                repositories::find_finding(db, viewer, uuid).await?,
            )),
            Kind::Organization => Node::Organization(OrganizationNode(
                accounts::find_organization(db, viewer, uuid).await?,
            )),
            Kind::User => Node::User(UserNode(members::find_user(db, viewer, uuid).await?)),
            Kind::ApiToken => {
                Node::ApiToken(ApiTokenNode(sessions::find_token(db, viewer, uuid).await?))
            }
            Kind::LinkedAccount => Node::LinkedAccount(LinkedAccountNode(
                linked_accounts::find(db, viewer, uuid).await?,
            )),
            Kind::DiscoveryRun => Node::DiscoveryRun(DiscoveryRunNode(
                discovery_runs::find(db, viewer, uuid).await?,
            )),
        };
        Ok(Some(node))
    }

    /// The organization's connections, oldest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 100) as usize * child_complexity")]
    async fn connections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        provider: Option<Provider>,
        status: Option<ConnectionStatus>,
    ) -> ApiResult<Page<ConnectionNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let filter = connections::ConnectionFilter {
            provider: provider.map(Into::into),
            status: status.map(Into::into),
        };
        paginate(
            &state(ctx)?.db,
            connections::select(viewer, filter),
            entities::connection::Column::Id,
            args,
            |c| c.id,
            ConnectionNode,
        )
        .await
    }

    /// One connection.
    async fn connection(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ConnectionNode>> {
        let viewer = viewer(ctx)?;
        let uuid = ids::decode(&id, Kind::Connection)?;
        Ok(Some(ConnectionNode(
            connections::find(state(ctx)?, viewer, uuid).await?,
        )))
    }

    /// The organization's repositories, oldest first, optionally filtered.
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 100) as usize * child_complexity")]
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        connection_id: Option<ID>,
        #[graphql(name = "state")] state_filter: Option<RepositoryState>,
        #[graphql(name = "search", desc = "Case-insensitive substring of the full name.")]
        search: Option<String>,
    ) -> ApiResult<Page<RepositoryNode>> {
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let filter = RepositoryFilter {
            connection: connection_id
                .map(|id| ids::decode(&id, Kind::Connection))
                .transpose()?,
            state: state_filter.map(Into::into),
            search: match search {
                Some(raw) => SearchTerm::parse(&raw)?,
                None => None,
            },
        };
        paginate(
            &state(ctx)?.db,
            repositories::select(viewer, &filter),
            entities::repository::Column::Id,
            args,
            |r| r.id,
            RepositoryNode,
        )
        .await
    }

    /// One repository.
    async fn repository(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<RepositoryNode>> {
        let viewer = viewer(ctx)?;
        let uuid = ids::decode(&id, Kind::Repository)?;
        let repository = repositories::find(&state(ctx)?.db, viewer, uuid).await?;
        Ok(Some(RepositoryNode(repository)))
    }

    /// The caller's linked provider accounts.
    async fn linked_accounts(&self, ctx: &Context<'_>) -> ApiResult<Vec<LinkedAccountNode>> {
        let viewer = viewer(ctx)?;
        let rows = linked_accounts::list(&state(ctx)?.db, viewer).await?;
        Ok(rows.into_iter().map(LinkedAccountNode).collect())
    }

    /// Where to send the caller's browser to link their GitHub account (OAuth web flow; the
    /// URL carries a single-use state that expires in ten minutes). Same as
    /// `GET /auth/github/link`, for single-page apps.
    #[graphql(name = "githubLinkUrl")]
    async fn github_link_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let viewer = viewer(ctx)?;
        github_flow::link_url(state(ctx)?, viewer)
            .await
            .map(String::from)
            .map_err(flow_error)
    }

    /// Where to send an admin's browser to install the Tether GitHub App on a GitHub
    /// organization (or, for non-owners, to request its installation); GitHub brings them back
    /// to `/github/setup`, which connects the installation.
    #[graphql(name = "githubAppInstallUrl")]
    async fn github_app_install_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let viewer = viewer(ctx)?;
        github_install::install_url(state(ctx)?, viewer)
            .await
            .map(String::from)
            .map_err(flow_error)
    }

    /// The caller's API tokens in this organization (never the secrets).
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiTokenNode>> {
        let viewer = viewer(ctx)?;
        let rows = sessions::api_tokens(&state(ctx)?.db, viewer).await?;
        Ok(rows.into_iter().map(ApiTokenNode).collect())
    }
}

/// A web flow that cannot start, as a query error with a stable code.
fn flow_error(err: FlowError) -> ApiError {
    match err {
        FlowError::Forbidden(what) => ApiError::Forbidden(what),
        FlowError::Api(err) => err,
        other => ApiError::BadUserInput(other.to_string()),
    }
}
