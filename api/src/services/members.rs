//! Who belongs to an organization, and with which role.

use super::Failure;
use super::{is_unique_violation, parse_email};
use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::graphql::types::{UserError, UserErrorCode};
use chrono::Utc;
use entities::{Role, membership, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set};
use uuid::Uuid;

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

/// Adds the user who signed up with `email` to `organization` with `role`.
pub async fn add(
    db: &DatabaseConnection,
    organization: Uuid,
    email: &str,
    role: Role,
) -> Result<user::Model, Failure> {
    let email = parse_email(email)?;
    let Some(user) = user::Entity::find_by_email(&email).one(db).await? else {
        return Err(UserError::new(
            Some("email"),
            UserErrorCode::UserNotFound,
            "no user has this email; they must sign up first",
        )
        .into());
    };
    let already_member = || {
        Failure::User(UserError::new(
            Some("email"),
            UserErrorCode::AlreadyMember,
            "this user is already a member",
        ))
    };
    if membership::Entity::find_for(organization, user.id)
        .one(db)
        .await?
        .is_some()
    {
        return Err(already_member());
    }
    // Two owners adding the same user at once: the unique index lets one through.
    match add_membership(db, organization, user.id, role).await {
        Ok(_) => Ok(user),
        Err(err) if is_unique_violation(&err) => Err(already_member()),
        Err(err) => Err(err.into()),
    }
}

/// A member of the viewer's organization, or NOT_FOUND (users elsewhere are not visible).
pub async fn find_user(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<user::Model, ApiError> {
    if membership::Entity::find_for(viewer.organization_id, id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}
