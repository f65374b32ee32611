//! Provider accounts a user has linked to Tether (GitHub, for the Tether GitHub App).

use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::state::AppState;
use entities::{Provider, SealContext, linked_account};
use jobs::AccessToken;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The viewer's linked accounts, oldest first.
pub async fn list(
    db: &DatabaseConnection,
    viewer: &Viewer,
) -> Result<Vec<linked_account::Model>, DbErr> {
    linked_account::Entity::find()
        .filter(linked_account::Column::UserId.eq(viewer.user_id))
        .order_by_asc(linked_account::Column::Id)
        .all(db)
        .await
}

/// One of the viewer's linked accounts, or NOT_FOUND (other users' are not visible).
pub async fn find(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<linked_account::Model, ApiError> {
    linked_account::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|a| a.user_id == viewer.user_id)
        .ok_or(ApiError::NotFound)
}

/// The access token of the viewer's linked GitHub account, opened; `None` when they have not
/// linked one (or it holds no token).
pub async fn github_token(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Option<AccessToken>, ApiError> {
    let account = linked_account::Entity::find()
        .filter(linked_account::Column::UserId.eq(viewer.user_id))
        .filter(linked_account::Column::Provider.eq(Provider::Github))
        .one(&state.db)
        .await?;
    let Some(linked_account::Model {
        id,
        access_token: Some(sealed),
        ..
    }) = account
    else {
        return Ok(None);
    };
    let context = SealContext::new(linked_account::SEAL_TABLE, id, linked_account::SEAL_COLUMN);
    let opened = state
        .keyring
        .open(&sealed, context)
        .map_err(|e| ApiError::Internal(format!("linked account {id} does not open: {e}")))?;
    Ok(Some(AccessToken::from_secret(opened)))
}
