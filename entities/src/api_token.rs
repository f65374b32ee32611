//! Sessions and API tokens: random bearer secrets stored only as SHA-256 digests.

use crate::TokenKind;
use sea_orm::entity::prelude::*;

/// A bearer token row. The token itself is shown once and never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub kind: TokenKind,
    pub name: String,
    /// Hex SHA-256 of the token: enough to recognise it, useless to replay.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
}

/// Tokens are looked up by hash.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the token may still authenticate at `now`.
    pub fn is_usable(&self, now: DateTimeUtc) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}
