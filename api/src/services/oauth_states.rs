//! Single-use, signed, expiring `state` values for the GitHub web flows. The value a browser
//! carries is `<nonce>.<signature>`: the signature (HMAC-SHA256 under the app's OAuth client
//! secret, which every replica shares) refuses a forged or altered state before the database
//! is asked; the row behind the nonce binds it to one user, organization and purpose, and is
//! consumed atomically, so a state works once and only until it expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entities::oauth_state;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use uuid::Uuid;

/// How long a browser has to come back.
pub const LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// What a state is for; a state issued for one purpose is refused for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Linking the user's GitHub account.
    Link,
    /// Installing the GitHub App.
    Install,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Install => "install",
        }
    }
}

/// Why a state came back refused; deliberately without detail for the browser.
#[derive(Debug, thiserror::Error)]
pub enum StateRefused {
    /// Missing, malformed, forged or altered.
    #[error("the state is not one Tether issued")]
    Invalid,
    /// Unknown, already used, expired, or issued for another purpose.
    #[error("the state has expired or was already used")]
    Spent,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

fn signature(key: &SecretString, purpose: Purpose, nonce: Uuid) -> Hmac<Sha256> {
    // A key is any length for HMAC; this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("tether-oauth-state:v1:{}:{nonce}", purpose.as_str()).as_bytes());
    mac
}

/// Issues a state for `user` acting in `organization`.
pub async fn issue(
    db: &DatabaseConnection,
    key: &SecretString,
    purpose: Purpose,
    user: Uuid,
    organization: Uuid,
) -> Result<String, DbErr> {
    // v4: 122 random bits, unlike the time-ordered ids of rows people list.
    let nonce = Uuid::new_v4();
    let now = Utc::now();
    oauth_state::ActiveModel {
        id: Set(nonce),
        user_id: Set(user),
        organization_id: Set(organization),
        purpose: Set(purpose.as_str().to_owned()),
        expires_at: Set(now + LIFETIME),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let tag = signature(key, purpose, nonce).finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        nonce.simple(),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Checks and consumes a state that came back for `purpose`.
pub async fn consume(
    db: &DatabaseConnection,
    key: &SecretString,
    purpose: Purpose,
    state: Option<&str>,
) -> Result<oauth_state::Model, StateRefused> {
    let (nonce, tag) = state
        .and_then(|s| s.split_once('.'))
        .ok_or(StateRefused::Invalid)?;
    let nonce = Uuid::try_parse(nonce).map_err(|_| StateRefused::Invalid)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| StateRefused::Invalid)?;
    // Constant-time comparison.
    signature(key, purpose, nonce)
        .verify_slice(&tag)
        .map_err(|_| StateRefused::Invalid)?;
    let now = Utc::now();
    let taken = oauth_state::Entity::update_many()
        .col_expr(oauth_state::Column::ConsumedAt, Expr::value(now))
        .filter(oauth_state::Column::Id.eq(nonce))
        .filter(oauth_state::Column::Purpose.eq(purpose.as_str()))
        .filter(oauth_state::Column::ConsumedAt.is_null())
        .filter(oauth_state::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(StateRefused::Spent);
    }
    oauth_state::Entity::find_by_id(nonce)
        .one(db)
        .await?
        .ok_or(StateRefused::Spent)
}
