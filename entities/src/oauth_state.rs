//! Single-use states of the provider web flows (linking an account, installing the GitHub
//! App): which user started the flow, for what, and until when it may come back.

use sea_orm::entity::prelude::*;

/// A state row; its id is the nonce carried (signed) in the flow's `state` parameter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// `link` or `install`.
    pub purpose: String,
    pub expires_at: DateTimeUtc,
    /// Set once when the flow comes back: a state is used at most once.
    pub consumed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

/// Looked up by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
