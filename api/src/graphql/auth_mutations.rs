//! Sign-up, login, logout, API tokens and members.

use super::context::{member_manager, request, state, viewer};
use super::errors::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::types::enums::Role;
use super::types::{ApiTokenNode, OrganizationNode, UserError, UserErrorCode, UserNode};
use crate::auth::password;
use crate::services::accounts::{self, SESSION_TTL, SignUpFailure};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{Duration, Utc};
use entities::{TokenKind, api_token, membership, organization, user};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
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
        let issued = accounts::issue_token(
            &state.db,
            account.user.id,
            account.organization.id,
            TokenKind::Session,
            "session",
            SESSION_TTL,
        )
        .await?;
        Ok(AuthPayload {
            token: Some(issued.token.expose_secret().to_owned()),
            user: Some(UserNode(account.user)),
            organization: Some(OrganizationNode(account.organization)),
            user_errors: vec![],
        })
    }

    /// Exchanges email and password for a session token. Repeated failures are slowed down.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let state = state(ctx)?;
        let address = request(ctx)
            .map(|r| r.client_address.clone())
            .unwrap_or_default();
        let email = input.email.trim().to_lowercase();
        if let Err(wait) = state.throttle.check(&email, &address) {
            return Ok(AuthPayload::error(UserError::new(
                None,
                UserErrorCode::RateLimited,
                format!(
                    "too many failed logins; try again in {} s",
                    wait.0.as_secs().max(1)
                ),
            )));
        }
        let found = user::Entity::find_by_email(&email).one(&state.db).await?;
        let ok = password::verify(
            found.as_ref().map(|u| u.password_hash.clone()),
            SecretString::from(input.password),
        )
        .await;
        let home = match (&found, ok, &input.organization_id) {
            (Some(user), true, None) => accounts::home_membership(&state.db, user.id).await?,
            (Some(user), true, Some(org)) => match ids::decode(org, Kind::Organization) {
                Ok(org) => {
                    membership::Entity::find_for(org, user.id)
                        .one(&state.db)
                        .await?
                }
                Err(_) => None,
            },
            _ => None,
        };
        let (Some(user), Some(home)) = (found, home) else {
            state.throttle.failed(&email, &address);
            tracing::info!(client = %address, "failed login");
            return Ok(AuthPayload::error(UserError::new(
                None,
                UserErrorCode::InvalidCredentials,
                "wrong email or password",
            )));
        };
        state.throttle.succeeded(&email);
        let org = organization::Entity::find_by_id(home.organization_id)
            .one(&state.db)
            .await?
            .ok_or_else(|| ApiError::Internal("membership without organization".into()))?;
        let issued = accounts::issue_token(
            &state.db,
            user.id,
            org.id,
            TokenKind::Session,
            "session",
            SESSION_TTL,
        )
        .await?;
        Ok(AuthPayload {
            token: Some(issued.token.expose_secret().to_owned()),
            user: Some(UserNode(user)),
            organization: Some(OrganizationNode(org)),
            user_errors: vec![],
        })
    }

    /// Revokes the token this request was made with.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<LogoutPayload> {
        let viewer = viewer(ctx)?;
        let state = state(ctx)?;
        revoke(state, viewer.token_id).await?;
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
        // An API token must not mint longer-lived ones: that would defeat expiry and revocation.
        if viewer.token_kind != TokenKind::Session {
            return Err(ApiError::Forbidden(
                "creating API tokens with an API token (log in instead)",
            ));
        }
        let state = state(ctx)?;
        let name = input.name.trim();
        let error = |field: &str, message: &str| CreateApiTokenPayload {
            user_errors: vec![UserError::new(
                Some(field),
                UserErrorCode::InvalidInput,
                message,
            )],
            ..Default::default()
        };
        if name.is_empty() || name.chars().count() > 100 {
            return Ok(error("name", "the name must be 1 to 100 characters long"));
        }
        let days = input.expires_in_days.unwrap_or(90);
        if !(1..=365).contains(&days) {
            return Ok(error(
                "expiresInDays",
                "expiresInDays must be between 1 and 365",
            ));
        }
        let issued = accounts::issue_token(
            &state.db,
            viewer.user_id,
            viewer.organization_id,
            TokenKind::Api,
            name,
            Duration::days(i64::from(days)),
        )
        .await?;
        Ok(CreateApiTokenPayload {
            token: Some(issued.token.expose_secret().to_owned()),
            api_token: Some(ApiTokenNode(issued.row)),
            user_errors: vec![],
        })
    }

    /// Revokes one of the caller's tokens (owners may revoke any token of the organization).
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> ApiResult<RevokeApiTokenPayload> {
        let viewer = viewer(ctx)?;
        let state = state(ctx)?;
        let uuid = ids::decode(&input.id, Kind::ApiToken)?;
        let row = api_token::Entity::find_by_id(uuid)
            .one(&state.db)
            .await?
            .filter(|t| t.organization_id == viewer.organization_id)
            .filter(|t| t.user_id == viewer.user_id || viewer.can_manage_members())
            .ok_or(ApiError::NotFound)?;
        revoke(state, row.id).await?;
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
        let state = state(ctx)?;
        let error = |field: Option<&str>, code, message: &str| AddMemberPayload {
            user_errors: vec![UserError::new(field, code, message)],
            ..Default::default()
        };
        let email = match accounts::parse_email(&input.email) {
            Ok(email) => email,
            Err(err) => {
                return Ok(AddMemberPayload {
                    user_errors: vec![err],
                    ..Default::default()
                });
            }
        };
        let Some(user) = user::Entity::find_by_email(&email).one(&state.db).await? else {
            return Ok(error(
                Some("email"),
                UserErrorCode::UserNotFound,
                "no user has this email; they must sign up first",
            ));
        };
        if membership::Entity::find_for(viewer.organization_id, user.id)
            .one(&state.db)
            .await?
            .is_some()
        {
            return Ok(error(
                Some("email"),
                UserErrorCode::AlreadyMember,
                "this user is already a member",
            ));
        }
        accounts::add_membership(
            &state.db,
            viewer.organization_id,
            user.id,
            input.role.into(),
        )
        .await?;
        Ok(AddMemberPayload {
            user: Some(UserNode(user)),
            role: Some(input.role),
            user_errors: vec![],
        })
    }
}

async fn revoke(state: &crate::state::AppState, token: uuid::Uuid) -> ApiResult<()> {
    let Some(row) = api_token::Entity::find_by_id(token).one(&state.db).await? else {
        return Err(ApiError::NotFound);
    };
    if row.revoked_at.is_none() {
        let mut active: api_token::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&state.db).await?;
    }
    Ok(())
}
