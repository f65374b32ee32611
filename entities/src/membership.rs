//! A user's role in one organization.

use crate::Role;
use sea_orm::entity::prelude::*;

/// A membership row; (organization, user) is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub created_at: DateTimeUtc,
}

/// Memberships are looked up by (organization, user) explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The membership of `user` in `organization`, if any.
    pub fn find_for(organization: Uuid, user: Uuid) -> Select<Entity> {
        Self::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::UserId.eq(user))
    }
}
