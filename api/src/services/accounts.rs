//! Sign-up, login, tokens and memberships.

use crate::auth::{password, token};
use crate::graphql::types::{UserError, UserErrorCode};
use chrono::{Duration, Utc};
use entities::{Role, TokenKind, api_token, membership, organization, user};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder, Set,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// How long a login session lasts.
pub const SESSION_TTL: Duration = Duration::days(30);
/// Shortest password accepted (NIST SP 800-63B).
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 cost is bounded by the input size).
pub const MAX_PASSWORD: usize = 256;

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

/// Normalises and checks an email address.
pub fn parse_email(raw: &str) -> Result<String, UserError> {
    jobs::AccountEmail::parse(raw, "email")
        .map(|e| e.as_str().to_lowercase())
        .map_err(UserError::from)
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), UserError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&chars) {
        return Err(UserError::new(
            Some("password"),
            UserErrorCode::InvalidInput,
            format!("the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long"),
        ));
    }
    Ok(())
}

/// Checks an organization's name.
pub fn parse_organization_name(raw: &str) -> Result<String, UserError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(UserError::new(
            Some("organizationName"),
            UserErrorCode::InvalidInput,
            "the organization name must be 1 to 100 characters long",
        ));
    }
    Ok(name.to_owned())
}

/// A user, their new organization and their owner membership.
pub struct NewAccount {
    /// The user.
    pub user: user::Model,
    /// The organization they own.
    pub organization: organization::Model,
}

/// Why an account could not be created.
pub enum SignUpFailure {
    /// Input problem.
    User(UserError),
    /// Database problem.
    Db(DbErr),
}

impl From<DbErr> for SignUpFailure {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

/// Creates a user who owns a new organization (sign-up and `tether admin create-user`).
pub async fn create_account(
    db: &DatabaseConnection,
    email: &str,
    password: SecretString,
    organization_name: &str,
) -> Result<NewAccount, SignUpFailure> {
    let email = parse_email(email).map_err(SignUpFailure::User)?;
    check_password(password.expose_secret()).map_err(SignUpFailure::User)?;
    let organization_name =
        parse_organization_name(organization_name).map_err(SignUpFailure::User)?;
    let email_taken = || {
        SignUpFailure::User(UserError::new(
            Some("email"),
            UserErrorCode::EmailTaken,
            "an account with this email already exists; log in instead",
        ))
    };
    if user::Entity::find_by_email(&email).one(db).await?.is_some() {
        return Err(email_taken());
    }
    let hash = password::hash(password)
        .await
        .map_err(|e| SignUpFailure::Db(DbErr::Custom(e.to_string())))?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let organization = organization::ActiveModel {
        id: Set(entities::new_id()),
        name: Set(organization_name),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let inserted = user::ActiveModel {
        id: Set(entities::new_id()),
        email: Set(email),
        password_hash: Set(hash),
        created_at: Set(now),
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(user) => user,
        Err(err) if is_unique_violation(&err) => return Err(email_taken()),
        Err(err) => return Err(err.into()),
    };
    add_membership(&txn, organization.id, user.id, Role::Owner).await?;
    txn.commit().await?;
    Ok(NewAccount { user, organization })
}

/// Adds `user` to `organization` with `role`.
pub async fn add_membership<C: ConnectionTrait>(
    db: &C,
    organization: Uuid,
    user: Uuid,
    role: Role,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        id: Set(entities::new_id()),
        organization_id: Set(organization),
        user_id: Set(user),
        role: Set(role),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// The organization a login acts in: the user's oldest membership.
pub async fn home_membership(
    db: &DatabaseConnection,
    user: Uuid,
) -> Result<Option<membership::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .order_by_asc(membership::Column::CreatedAt)
        .one(db)
        .await
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
