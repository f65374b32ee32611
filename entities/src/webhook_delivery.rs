//! Webhook deliveries already processed, so a redelivery changes nothing.

use crate::Provider;
use sea_orm::entity::prelude::*;

/// A processed delivery; its id is the provider's delivery id (`X-GitHub-Delivery`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub provider: Provider,
    pub event: String,
    pub received_at: DateTimeUtc,
}

/// Looked up by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
