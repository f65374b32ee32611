//! Bearer tokens: logging in (a session), API tokens for scripts, and revoking either.

use super::Failure;
use crate::auth::{Viewer, password, token};
use crate::graphql::errors::ApiError;
use crate::graphql::types::{UserError, UserErrorCode};
use crate::state::AppState;
use chrono::{Duration, Utc};
use entities::{TokenKind, api_token, membership, organization, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use secrecy::SecretString;
use uuid::Uuid;

/// How long a login session lasts.
pub const SESSION_TTL: Duration = Duration::days(30);
/// An API token's lifetime when none is asked for.
pub const DEFAULT_API_TOKEN_DAYS: i32 = 90;
/// The longest lifetime an API token may ask for.
pub const MAX_API_TOKEN_DAYS: i32 = 365;

/// A freshly issued bearer token: the secret (shown once) and its row.
pub struct Issued {
    /// The token to hand to the client.
    pub token: SecretString,
    /// Its stored metadata.
    pub row: api_token::Model,
}

/// Issues a token for `user` acting in `organization`.
pub async fn issue_token<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    organization: Uuid,
    kind: TokenKind,
    name: &str,
    ttl: Duration,
) -> Result<Issued, DbErr> {
    let (token, digest) = token::generate();
    let now = Utc::now();
    let row = api_token::ActiveModel {
        id: Set(entities::new_id()),
        organization_id: Set(organization),
        user_id: Set(user),
        kind: Set(kind),
        name: Set(name.to_owned()),
        token_hash: Set(digest),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        revoked_at: Set(None),
        last_used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Issued { token, row })
}

/// Issues a login session for `user` acting in `organization`.
pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    organization: Uuid,
) -> Result<Issued, DbErr> {
    issue_token(
        db,
        user,
        organization,
        TokenKind::Session,
        "session",
        SESSION_TTL,
    )
    .await
}

/// The organization a login asks to act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOrganization {
    /// None named: the user's oldest membership.
    Home,
    /// This one, if the user is a member.
    Named(Uuid),
    /// An id that names no organization; the login fails as a wrong password would.
    Unrecognised,
}

/// What a login attempt sends.
pub struct LoginAttempt<'a> {
    /// The email as typed (trimmed and lowercased here, never validated: a malformed address
    /// must fail as a wrong password does).
    pub email: &'a str,
    /// The password.
    pub password: SecretString,
    /// Where the session will act.
    pub organization: LoginOrganization,
    /// The caller's IP address, which the throttle counts failures by.
    pub client_address: &'a str,
}

/// A successful login.
pub struct Session {
    /// The session token, shown once.
    pub token: SecretString,
    /// The user.
    pub user: user::Model,
    /// The organization the session acts in.
    pub organization: organization::Model,
}

/// Exchanges email and password for a session. Repeated failures are slowed down; every failure
/// answers the same, so a caller cannot learn which emails have accounts.
pub async fn login(state: &AppState, attempt: LoginAttempt<'_>) -> Result<Session, Failure> {
    let email = attempt.email.trim().to_lowercase();
    let address = attempt.client_address;
    if let Err(wait) = state.throttle.check(&email, address) {
        return Err(UserError::new(
            None,
            UserErrorCode::RateLimited,
            format!(
                "too many failed logins; try again in {} s",
                wait.0.as_secs().max(1)
            ),
        )
        .into());
    }
    let found = user::Entity::find_by_email(&email).one(&state.db).await?;
    // Verified even when the user is unknown (against a dummy hash), so both cost the same.
    let ok = password::verify(
        found.as_ref().map(|u| u.password_hash.clone()),
        attempt.password,
    )
    .await;
    let home = match (&found, ok, attempt.organization) {
        (Some(user), true, LoginOrganization::Home) => home_membership(&state.db, user.id).await?,
        (Some(user), true, LoginOrganization::Named(org)) => {
            membership::Entity::find_for(org, user.id)
                .one(&state.db)
                .await?
        }
        _ => None,
    };
    let (Some(user), Some(home)) = (found, home) else {
        state.throttle.failed(&email, address);
        tracing::info!(client = %address, "failed login");
        return Err(UserError::new(
            None,
            UserErrorCode::InvalidCredentials,
            "wrong email or password",
        )
        .into());
    };
    state.throttle.succeeded(&email);
    let organization = organization::Entity::find_by_id(home.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::Internal("membership without organization".into()))
        .map_err(Failure::Api)?;
    let issued = start_session(&state.db, user.id, organization.id).await?;
    Ok(Session {
        token: issued.token,
        user,
        organization,
    })
}

/// The organization a login acts in by default: the user's oldest membership.
async fn home_membership(
    db: &DatabaseConnection,
    user: Uuid,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .order_by_asc(membership::Column::CreatedAt)
        .one(db)
        .await
}

/// Checks an API token's name.
fn parse_token_name(raw: &str) -> Result<String, UserError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(UserError::new(
            Some("name"),
            UserErrorCode::InvalidInput,
            "the name must be 1 to 100 characters long",
        ));
    }
    Ok(name.to_owned())
}

/// Checks an API token's lifetime in days ([`DEFAULT_API_TOKEN_DAYS`] when omitted).
fn parse_lifetime(days: Option<i32>) -> Result<Duration, UserError> {
    let days = days.unwrap_or(DEFAULT_API_TOKEN_DAYS);
    if !(1..=MAX_API_TOKEN_DAYS).contains(&days) {
        return Err(UserError::new(
            Some("expiresInDays"),
            UserErrorCode::InvalidInput,
            format!("expiresInDays must be between 1 and {MAX_API_TOKEN_DAYS}"),
        ));
    }
    Ok(Duration::days(i64::from(days)))
}

/// Creates an API token for the viewer in their organization; only a logged-in session may.
pub async fn create_api_token(
    db: &DatabaseConnection,
    viewer: &Viewer,
    name: &str,
    expires_in_days: Option<i32>,
) -> Result<Issued, Failure> {
    // An API token must not mint longer-lived ones: that would defeat expiry and revocation.
    if viewer.token_kind != TokenKind::Session {
        return Err(Failure::Api(ApiError::Forbidden(
            "creating API tokens with an API token (log in instead)",
        )));
    }
    let name = parse_token_name(name)?;
    let lifetime = parse_lifetime(expires_in_days)?;
    Ok(issue_token(
        db,
        viewer.user_id,
        viewer.organization_id,
        TokenKind::Api,
        &name,
        lifetime,
    )
    .await?)
}

/// The viewer's API tokens in their organization, oldest first (sessions are not listed).
pub async fn api_tokens(
    db: &DatabaseConnection,
    viewer: &Viewer,
) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(viewer.user_id))
        .filter(api_token::Column::OrganizationId.eq(viewer.organization_id))
        .filter(api_token::Column::Kind.eq(TokenKind::Api))
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await
}

/// One of the viewer's own tokens in their organization, or NOT_FOUND.
pub async fn find_token(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<api_token::Model, ApiError> {
    api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| t.user_id == viewer.user_id && t.organization_id == viewer.organization_id)
        .ok_or(ApiError::NotFound)
}

/// Revokes the token a request was made with (logout).
pub async fn revoke(db: &DatabaseConnection, token: Uuid) -> Result<(), ApiError> {
    let row = api_token::Entity::find_by_id(token)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    revoke_row(db, row).await
}

/// Revokes one of the viewer's tokens; owners may revoke any token of their organization, and
/// everyone else's look like they do not exist.
pub async fn revoke_api_token(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<(), ApiError> {
    let row = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| t.organization_id == viewer.organization_id)
        .filter(|t| t.user_id == viewer.user_id || viewer.can_manage_members())
        .ok_or(ApiError::NotFound)?;
    revoke_row(db, row).await
}

/// Marks `row` revoked, keeping the first revocation time when it already was.
async fn revoke_row(db: &DatabaseConnection, row: api_token::Model) -> Result<(), ApiError> {
    if row.revoked_at.is_none() {
        let mut active: api_token::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_trimmed_and_bounded() {
        assert_eq!(parse_token_name("  ci  ").unwrap(), "ci");
        for bad in ["", "   ", &"x".repeat(101)] {
            let err = parse_token_name(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("name"));
            assert_eq!(err.code, UserErrorCode::InvalidInput);
        }
        assert!(parse_token_name(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn token_lifetimes_default_to_90_days_and_stay_within_a_year() {
        assert_eq!(parse_lifetime(None).unwrap(), Duration::days(90));
        assert_eq!(parse_lifetime(Some(1)).unwrap(), Duration::days(1));
        assert_eq!(parse_lifetime(Some(365)).unwrap(), Duration::days(365));
        for bad in [0, -1, 366, i32::MAX] {
            let err = parse_lifetime(Some(bad)).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("expiresInDays"));
            assert_eq!(err.message, "expiresInDays must be between 1 and 365");
        }
    }
}
