//! The authenticated caller: a user acting in one organization with one role, through one token.

use super::token;
use chrono::Utc;
use entities::{Role, TokenKind, api_token, membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use secrecy::SecretString;
use uuid::Uuid;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The user.
    pub user_id: Uuid,
    /// The organization the token acts in.
    pub organization_id: Uuid,
    /// The user's role there.
    pub role: Role,
    /// The token used (so `logout` can revoke it).
    pub token_id: Uuid,
    /// Session or API token.
    pub token_kind: TokenKind,
}

impl Viewer {
    /// Admins and owners manage connections.
    pub fn can_manage_connections(&self) -> bool {
        self.role >= Role::Admin
    }

    /// Owners manage members.
    pub fn can_manage_members(&self) -> bool {
        self.role >= Role::Owner
    }
}

/// `Authorization: Bearer <token>` → the token, if the header has that shape.
pub fn bearer(header: Option<&str>) -> Option<SecretString> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SecretString::from(token.to_owned()))
}

/// The viewer an `Authorization` header names: `None` without a bearer token, or for an
/// unknown, expired or revoked one.
pub async fn from_header(
    db: &DatabaseConnection,
    header: Option<&str>,
) -> Result<Option<Viewer>, DbErr> {
    match bearer(header) {
        Some(token) => resolve(db, &token).await,
        None => Ok(None),
    }
}

/// Resolves a bearer token to a viewer; `None` for unknown, expired or revoked tokens.
pub async fn resolve(
    db: &DatabaseConnection,
    token: &SecretString,
) -> Result<Option<Viewer>, DbErr> {
    let digest = token::digest(token);
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if !row.is_usable(now) {
        return Ok(None);
    }
    let Some(member) = membership::Entity::find_for(row.organization_id, row.user_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    // Record use at most once a minute: a read-mostly API should not write on every request.
    if row
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::seconds(60))
    {
        let mut active: api_token::ActiveModel = row.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    Ok(Some(Viewer {
        user_id: row.user_id,
        organization_id: row.organization_id,
        role: member.role,
        token_id: row.id,
        token_kind: row.kind,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn only_bearer_headers_carry_tokens() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap().expose_secret(), "abc");
        assert_eq!(bearer(Some("bearer  abc ")).unwrap().expose_secret(), "abc");
        assert!(bearer(Some("Basic abc")).is_none());
        assert!(bearer(Some("Bearer ")).is_none());
        assert!(bearer(None).is_none());
    }
}
