//! Accounts: signing up (a user who owns a new organization), and the caller's own user and
//! organization.

use super::members::add_membership;
use super::{is_unique_violation, parse_email};
use crate::auth::{Viewer, password};
use crate::graphql::errors::ApiError;
use crate::graphql::types::{UserError, UserErrorCode};
use chrono::Utc;
use entities::{Role, organization, user};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, Set, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// Shortest password accepted (NIST SP 800-63B).
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 cost is bounded by the input size).
pub const MAX_PASSWORD: usize = 256;

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

/// The caller's user and organization; UNAUTHENTICATED when either is gone (a token that
/// outlived its user or organization).
pub async fn profile(
    db: &DatabaseConnection,
    viewer: &Viewer,
) -> Result<(user::Model, organization::Model), ApiError> {
    let user = user::Entity::find_by_id(viewer.user_id).one(db).await?;
    let organization = organization::Entity::find_by_id(viewer.organization_id)
        .one(db)
        .await?;
    user.zip(organization).ok_or(ApiError::Unauthenticated)
}

/// The viewer's own organization by id, or NOT_FOUND (other organizations are not visible).
pub async fn find_organization(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<organization::Model, ApiError> {
    if id != viewer.organization_id {
        return Err(ApiError::NotFound);
    }
    organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}
