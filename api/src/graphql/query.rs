//! Read-only queries, all scoped to the viewer's organization.

use super::context::{state, viewer};
use super::errors::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::pagination::{Page, PageArgs, paginate};
use super::types::enums::{ConnectionStatus, Provider, RepositoryState};
use super::types::{
    ApiTokenNode, ConnectionNode, FindingNode, LinkedAccountNode, Node, OrganizationNode,
    RepositoryNode, UserNode, ViewerNode,
};
use crate::services::connections;
use async_graphql::{Context, ID, Object};
use entities::{api_token, finding, linked_account, membership, organization, repository, user};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

/// The root query.
#[derive(Default)]
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// The caller, their organization and role.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Option<ViewerNode>> {
        let viewer = viewer(ctx)?;
        let db = &state(ctx)?.db;
        let user = user::Entity::find_by_id(viewer.user_id).one(db).await?;
        let org = organization::Entity::find_by_id(viewer.organization_id)
            .one(db)
            .await?;
        match (user, org) {
            (Some(user), Some(org)) => Ok(Some(ViewerNode {
                user: UserNode(user),
                organization: OrganizationNode(org),
                role: viewer.role.into(),
            })),
            _ => Err(ApiError::Unauthenticated),
        }
    }

    /// Any object by global id; another organization's ids answer NOT_FOUND.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let viewer = viewer(ctx)?;
        let db = &state(ctx)?.db;
        let (kind, uuid) = ids::decode_any(&id).ok_or(ApiError::NotFound)?;
        let org = viewer.organization_id;
        let node = match kind {
            Kind::Connection => Node::Connection(ConnectionNode(
                connections::find(state(ctx)?, viewer, uuid).await?,
            )),
            Kind::Repository => repository::Entity::find_in_org(org)
                .filter(repository::Column::Id.eq(uuid))
                .one(db)
                .await?
                .map(|r| Node::Repository(RepositoryNode(r)))
                .ok_or(ApiError::NotFound)?,
            Kind::Finding => finding::Entity::find_in_org(org)
                .filter(finding::Column::Id.eq(uuid))
                .one(db)
                .await?
                .map(|f| Node::Finding(FindingNode(f)))
                .ok_or(ApiError::NotFound)?,
            Kind::Organization if uuid == org => organization::Entity::find_by_id(uuid)
                .one(db)
                .await?
                .map(|o| Node::Organization(OrganizationNode(o)))
                .ok_or(ApiError::NotFound)?,
            Kind::User => {
                let member = membership::Entity::find_for(org, uuid).one(db).await?;
                let found = match member {
                    Some(_) => user::Entity::find_by_id(uuid).one(db).await?,
                    None => None,
                };
                found
                    .map(|u| Node::User(UserNode(u)))
                    .ok_or(ApiError::NotFound)?
            }
            Kind::ApiToken => api_token::Entity::find_by_id(uuid)
                .one(db)
                .await?
                .filter(|t| t.user_id == viewer.user_id && t.organization_id == org)
                .map(|t| Node::ApiToken(ApiTokenNode(t)))
                .ok_or(ApiError::NotFound)?,
            Kind::LinkedAccount => linked_account::Entity::find_by_id(uuid)
                .one(db)
                .await?
                .filter(|a| a.user_id == viewer.user_id)
                .map(|a| Node::LinkedAccount(LinkedAccountNode(a)))
                .ok_or(ApiError::NotFound)?,
            Kind::Organization => return Err(ApiError::NotFound),
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
        use entities::connection;
        let viewer = viewer(ctx)?;
        let args = PageArgs::parse(first, after)?;
        let mut select = connection::Entity::find_in_org(viewer.organization_id);
        if let Some(p) = provider {
            select = select.filter(connection::Column::Provider.eq(entities::Provider::from(p)));
        }
        if let Some(s) = status {
            select =
                select.filter(connection::Column::Status.eq(entities::ConnectionStatus::from(s)));
        }
        paginate(
            &state(ctx)?.db,
            select,
            connection::Column::Id,
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
        let mut select = repository::Entity::find_in_org(viewer.organization_id);
        if let Some(id) = connection_id {
            let uuid = ids::decode(&id, Kind::Connection)?;
            select = select.filter(repository::Column::ConnectionId.eq(uuid));
        }
        if let Some(s) = state_filter {
            select =
                select.filter(repository::Column::State.eq(entities::RepositoryState::from(s)));
        }
        if let Some(term) = search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
        {
            if term.chars().count() > 200 {
                return Err(ApiError::BadUserInput(
                    "search is longer than 200 characters".into(),
                ));
            }
            let escaped = term
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            select = select.filter(
                Condition::all().add(
                    Expr::expr(Func::lower(Expr::col(repository::Column::FullName)))
                        .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
                ),
            );
        }
        paginate(
            &state(ctx)?.db,
            select,
            repository::Column::Id,
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
        repository::Entity::find_in_org(viewer.organization_id)
            .filter(repository::Column::Id.eq(uuid))
            .one(&state(ctx)?.db)
            .await?
            .map(|r| Some(RepositoryNode(r)))
            .ok_or(ApiError::NotFound)
    }

    /// The caller's linked provider accounts.
    async fn linked_accounts(&self, ctx: &Context<'_>) -> ApiResult<Vec<LinkedAccountNode>> {
        let viewer = viewer(ctx)?;
        let rows = linked_account::Entity::find()
            .filter(linked_account::Column::UserId.eq(viewer.user_id))
            .order_by_asc(linked_account::Column::Id)
            .all(&state(ctx)?.db)
            .await?;
        Ok(rows.into_iter().map(LinkedAccountNode).collect())
    }

    /// The caller's API tokens in this organization (never the secrets).
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiTokenNode>> {
        let viewer = viewer(ctx)?;
        let rows = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(viewer.user_id))
            .filter(api_token::Column::OrganizationId.eq(viewer.organization_id))
            .filter(api_token::Column::Kind.eq(entities::TokenKind::Api))
            .order_by_asc(api_token::Column::Id)
            .all(&state(ctx)?.db)
            .await?;
        Ok(rows.into_iter().map(ApiTokenNode).collect())
    }
}
