//! A result of the analysis engine against a repository; kept forever with it.

use sea_orm::entity::prelude::*;

/// A finding row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub repository_id: Uuid,
    pub title: String,
    pub severity: String,
    pub path: Option<String>,
    pub line: Option<i32>,
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Findings are read per repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// All findings of one organization.
    pub fn find_in_org(organization: Uuid) -> Select<Entity> {
        Self::find().filter(Column::OrganizationId.eq(organization))
    }
}
