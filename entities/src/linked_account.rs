//! A user's identity on a provider (GitHub), linked through the provider's OAuth web flow.

use crate::{Provider, SealedSecret};
use sea_orm::entity::prelude::*;

/// A linked account row; (user, provider) is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "linked_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: Provider,
    /// The provider's stable user id.
    pub external_id: String,
    pub login: String,
    /// The user's OAuth access token on the provider, sealed to this row.
    pub access_token: Option<SealedSecret>,
    pub created_at: DateTimeUtc,
    /// The provider's avatar image for the account.
    pub avatar_url: Option<String>,
    /// The OAuth refresh token, sealed to this row (GitHub Apps with expiring user tokens).
    pub refresh_token: Option<SealedSecret>,
    /// When the access token stops working (`None`: it does not expire).
    pub access_token_expires_at: Option<DateTimeUtc>,
    /// When the refresh token stops working.
    pub refresh_token_expires_at: Option<DateTimeUtc>,
}

/// Looked up by user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Table and column names that bind a linked account's sealed token to its row.
pub const SEAL_TABLE: &str = "linked_accounts";
/// The sealed access-token column.
pub const SEAL_COLUMN: &str = "access_token";
/// The sealed refresh-token column.
pub const REFRESH_SEAL_COLUMN: &str = "refresh_token";
