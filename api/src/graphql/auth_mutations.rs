//! Sign-up, login, logout, API tokens and members.

use super::context::{member_manager, request, state, viewer};
use super::errors::ApiResult;
use super::ids::{self, Kind};
use super::types::enums::Role;
use super::types::{ApiTokenNode, OrganizationNode, UserError, UserNode};
use crate::services::Failure;
use crate::services::accounts::{self, SignUpFailure};
use crate::services::members;
use crate::services::sessions::{self, LoginAttempt, LoginOrganization, Session};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use secrecy::{ExposeSecret, SecretString};

/// Input of `signUp`.
#[derive(InputObject)]
pub struct SignUpInput {
    /// Email address (the login).
    pub email: String,
    /// 8 to 256 characters.
    pub password: String,
    /// Name of the organization the new user will own.
    pub organization_name: String,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// The organization to act in (default: the user's first one).
    pub organization_id: Option<ID>,
}

/// Result of `signUp` and `login`.
#[derive(SimpleObject, Default)]
pub struct AuthPayload {
    /// Session token for `Authorization: Bearer`, shown once.
    pub token: Option<String>,
    /// The user.
    pub user: Option<UserNode>,
    /// The organization the session acts in.
    pub organization: Option<OrganizationNode>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

impl AuthPayload {
    fn signed_in(session: Session) -> Self {
        Self {
            token: Some(session.token.expose_secret().to_owned()),
            user: Some(UserNode(session.user)),
            organization: Some(OrganizationNode(session.organization)),
            user_errors: vec![],
        }
    }

    fn error(err: UserError) -> Self {
        Self {
            user_errors: vec![err],
            ..Self::default()
        }
    }
}

/// Result of `logout`.
#[derive(SimpleObject, Default)]
pub struct LogoutPayload {
    /// Whether the token was revoked.
    pub revoked: bool,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A name to recognise it by.
    pub name: String,
    /// Lifetime in days, 1 to 365 (default 90).
    pub expires_in_days: Option<i32>,
}

/// Result of `createApiToken`.
#[derive(SimpleObject, Default)]
pub struct CreateApiTokenPayload {
    /// The token, shown this once.
    pub token: Option<String>,
    /// Its metadata.
    pub api_token: Option<ApiTokenNode>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Input of `revokeApiToken`.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token's id.
    pub id: ID,
}

/// Result of `revokeApiToken`.
#[derive(SimpleObject, Default)]
pub struct RevokeApiTokenPayload {
    /// The revoked token's id.
    pub revoked_token_id: Option<ID>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Input of `addMember`.
#[derive(InputObject)]
pub struct AddMemberInput {
    /// Email of an existing user.
    pub email: String,
    /// Their role.
    pub role: Role,
}

/// Result of `addMember`.
#[derive(SimpleObject, Default)]
pub struct AddMemberPayload {
    /// The added user.
    pub user: Option<UserNode>,
    /// Their role.
    pub role: Option<Role>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Account mutations.
#[derive(Default)]
pub struct AuthMutations;

#[Object]
impl AuthMutations {
    /// Creates a user and an organization they own, and logs them in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> ApiResult<AuthPayload> {
        let state = state(ctx)?;
        let created = accounts::create_account(
            &state.db,
            &input.email,
            SecretString::from(input.password),
            &input.organization_name,
        )
        .await;
        let account = match created {
            Ok(account) => account,
            Err(SignUpFailure::User(err)) => return Ok(AuthPayload::error(err)),
            Err(SignUpFailure::Db(err)) => return Err(err.into()),
        };
        let issued =
            sessions::start_session(&state.db, account.user.id, account.organization.id).await?;
        Ok(AuthPayload::signed_in(Session {
            token: issued.token,
            user: account.user,
            organization: account.organization,
        }))
    }

    /// Exchanges email and password for a session token. Repeated failures are slowed down.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let organization = match &input.organization_id {
            None => LoginOrganization::Home,
            Some(id) => ids::decode(id, Kind::Organization)
                .map_or(LoginOrganization::Unrecognised, LoginOrganization::Named),
        };
        let attempt = LoginAttempt {
            email: &input.email,
            password: SecretString::from(input.password),
            organization,
            client_address: request(ctx).map_or("", |r| r.client_address.as_str()),
        };
        match sessions::login(state(ctx)?, attempt).await {
            Ok(session) => Ok(AuthPayload::signed_in(session)),
            Err(Failure::User(err)) => Ok(AuthPayload::error(err)),
            Err(Failure::Api(err)) => Err(err),
        }
    }

    /// Revokes the token this request was made with.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<LogoutPayload> {
        let viewer = viewer(ctx)?;
        sessions::revoke(&state(ctx)?.db, viewer.token_id).await?;
        Ok(LogoutPayload {
            revoked: true,
            user_errors: vec![],
        })
    }

    /// Creates an API token for scripts and services; the token is shown once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> ApiResult<CreateApiTokenPayload> {
        let viewer = viewer(ctx)?;
        let created =
            sessions::create_api_token(&state(ctx)?.db, viewer, &input.name, input.expires_in_days)
                .await;
        match created {
            Ok(issued) => Ok(CreateApiTokenPayload {
                token: Some(issued.token.expose_secret().to_owned()),
                api_token: Some(ApiTokenNode(issued.row)),
                user_errors: vec![],
            }),
            Err(Failure::User(err)) => Ok(CreateApiTokenPayload {
                user_errors: vec![err],
                ..Default::default()
            }),
            Err(Failure::Api(err)) => Err(err),
        }
    }

    /// Revokes one of the caller's tokens (owners may revoke any token of the organization).
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> ApiResult<RevokeApiTokenPayload> {
        let viewer = viewer(ctx)?;
        let id = ids::decode(&input.id, Kind::ApiToken)?;
        sessions::revoke_api_token(&state(ctx)?.db, viewer, id).await?;
        Ok(RevokeApiTokenPayload {
            revoked_token_id: Some(input.id),
            user_errors: vec![],
        })
    }

    /// Adds an existing user to the organization (owners only).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> ApiResult<AddMemberPayload> {
        let viewer = member_manager(ctx)?;
        let added = members::add(
            &state(ctx)?.db,
            viewer.organization_id,
            &input.email,
            input.role.into(),
        )
        .await;
        match added {
            Ok(user) => Ok(AddMemberPayload {
                user: Some(UserNode(user)),
                role: Some(input.role),
                user_errors: vec![],
            }),
            Err(Failure::User(err)) => Ok(AddMemberPayload {
                user_errors: vec![err],
                ..Default::default()
            }),
            Err(Failure::Api(err)) => Err(err),
        }
    }
}
