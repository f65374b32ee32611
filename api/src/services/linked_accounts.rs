//! Provider accounts a user has linked to Tether (GitHub, for the Tether GitHub App): stored
//! with their tokens sealed to the row, refreshed when they expire, unlinked on request.

use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::state::AppState;
use chrono::Utc;
use entities::{Provider, SealContext, SealedSecret, linked_account};
use jobs::AccessToken;
use jobs::http::{FetchPolicy, Fetcher};
use jobs::providers::github::{GitHubUser, UserTokens};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use secrecy::SecretString;
use uuid::Uuid;

/// A user token this close to its expiry is refreshed before use.
const REFRESH_AHEAD: chrono::Duration = chrono::Duration::minutes(1);

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

/// The viewer's linked GitHub account, if any.
pub async fn github_account(
    db: &DatabaseConnection,
    user: Uuid,
) -> Result<Option<linked_account::Model>, DbErr> {
    linked_account::Entity::find()
        .filter(linked_account::Column::UserId.eq(user))
        .filter(linked_account::Column::Provider.eq(Provider::Github))
        .one(db)
        .await
}

/// The fetcher GitHub's OAuth endpoints are asked through: the web host, no credential, the
/// patience of a request a user is waiting on.
pub(crate) fn oauth_fetcher(state: &AppState) -> Fetcher {
    let endpoints = state.providers.endpoints();
    let host = endpoints.github_web.host_str().unwrap_or_default();
    state.providers.fetcher(host, None, FetchPolicy::check())
}

fn seal(
    state: &AppState,
    id: Uuid,
    column: &'static str,
    secret: &SecretString,
) -> Result<SealedSecret, ApiError> {
    state
        .keyring
        .seal(
            secret,
            SealContext::new(linked_account::SEAL_TABLE, id, column),
        )
        .map_err(|e| ApiError::Internal(format!("sealing a linked account's token: {e}")))
}

fn open(
    state: &AppState,
    id: Uuid,
    column: &'static str,
    sealed: &SealedSecret,
) -> Result<SecretString, ApiError> {
    state
        .keyring
        .open(
            sealed,
            SealContext::new(linked_account::SEAL_TABLE, id, column),
        )
        .map_err(|e| ApiError::Internal(format!("linked account {id} does not open: {e}")))
}

/// Writes `tokens` into `active` (row `id`), sealed to it.
fn set_tokens(
    state: &AppState,
    active: &mut linked_account::ActiveModel,
    id: Uuid,
    tokens: &UserTokens,
) -> Result<(), ApiError> {
    active.access_token = Set(Some(seal(
        state,
        id,
        linked_account::SEAL_COLUMN,
        &tokens.access_token,
    )?));
    active.refresh_token = Set(tokens
        .refresh_token
        .as_ref()
        .map(|t| seal(state, id, linked_account::REFRESH_SEAL_COLUMN, t))
        .transpose()?);
    active.access_token_expires_at = Set(tokens.expires_at);
    active.refresh_token_expires_at = Set(tokens.refresh_expires_at);
    Ok(())
}

/// Links `user`'s GitHub account (replacing an earlier link), tokens sealed to the row.
pub async fn store_github(
    state: &AppState,
    user: Uuid,
    github: &GitHubUser,
    tokens: &UserTokens,
) -> Result<Uuid, ApiError> {
    let (mut active, id, fresh) = match github_account(&state.db, user).await? {
        Some(row) => {
            let id = row.id;
            (linked_account::ActiveModel::from(row), id, false)
        }
        None => {
            let id = entities::new_id();
            let active = linked_account::ActiveModel {
                id: Set(id),
                user_id: Set(user),
                provider: Set(Provider::Github),
                created_at: Set(Utc::now()),
                ..Default::default()
            };
            (active, id, true)
        }
    };
    active.external_id = Set(github.user_id());
    active.login = Set(github.login.clone());
    active.avatar_url = Set(github.avatar_url.clone());
    set_tokens(state, &mut active, id, tokens)?;
    if fresh {
        active.insert(&state.db).await?;
    } else {
        active.update(&state.db).await?;
    }
    Ok(id)
}

/// The access token of the viewer's linked GitHub account, opened, refreshed first when it
/// is about to expire; `None` when they have not linked one, or it can no longer be used
/// (they must link again).
pub async fn github_token(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Option<AccessToken>, ApiError> {
    match github_account(&state.db, viewer.user_id).await? {
        Some(account) => token_of(state, account).await,
        None => Ok(None),
    }
}

/// The access token of a linked account, opened, refreshed first when it is about to expire.
pub async fn token_of(
    state: &AppState,
    account: linked_account::Model,
) -> Result<Option<AccessToken>, ApiError> {
    let Some(sealed) = &account.access_token else {
        return Ok(None);
    };
    let now = Utc::now();
    let fresh = account
        .access_token_expires_at
        .is_none_or(|at| at - REFRESH_AHEAD > now);
    if fresh {
        let opened = open(state, account.id, linked_account::SEAL_COLUMN, sealed)?;
        return Ok(Some(AccessToken::from_secret(opened)));
    }
    refresh(state, account).await
}

/// Trades the account's refresh token for new tokens and stores them.
async fn refresh(
    state: &AppState,
    account: linked_account::Model,
) -> Result<Option<AccessToken>, ApiError> {
    let (Some(oauth), Some(sealed)) = (&state.github.oauth, &account.refresh_token) else {
        return Ok(None);
    };
    if account
        .refresh_token_expires_at
        .is_some_and(|at| at <= Utc::now())
    {
        return Ok(None);
    }
    let refresh_token = open(
        state,
        account.id,
        linked_account::REFRESH_SEAL_COLUMN,
        sealed,
    )?;
    let tokens = match state
        .providers
        .github()
        .refresh_user_token(&oauth_fetcher(state), &oauth.client(), &refresh_token)
        .await
    {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::info!(account = %account.id, error = %err, "a GitHub user token could not be refreshed");
            return Ok(None);
        }
    };
    let id = account.id;
    let mut active = linked_account::ActiveModel::from(account);
    set_tokens(state, &mut active, id, &tokens)?;
    active.update(&state.db).await?;
    Ok(Some(AccessToken::from_secret(tokens.access_token)))
}

/// Unlinks one of the viewer's accounts (its tokens go with the row); NOT_FOUND for others'.
pub async fn unlink(state: &AppState, viewer: &Viewer, id: Uuid) -> Result<Uuid, ApiError> {
    let account = find(&state.db, viewer, id).await?;
    linked_account::Entity::delete_by_id(account.id)
        .exec(&state.db)
        .await?;
    Ok(account.id)
}
