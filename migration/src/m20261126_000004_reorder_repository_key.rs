//! The repository key index led with (organization, host), so a page's lookup
//! `external_id IN (…)` could only narrow by organization and host when the planner's statistics
//! were stale, as they are while a first discovery fills the table: PostgreSQL then filtered
//! every repository of the organization for each page. Leading with the provider's id makes the
//! lookup a handful of index probes whatever the statistics say.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Repositories {
    Table,
    OrganizationId,
    Host,
    ExternalId,
}

const OLD: &str = "ux_repositories_organization_host_external";
const NEW: &str = "ux_repositories_external_host_organization";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(Repositories::Table)
                    .col(Repositories::ExternalId)
                    .col(Repositories::Host)
                    .col(Repositories::OrganizationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(OLD)
                    .table(Repositories::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(Repositories::Table)
                    .col(Repositories::OrganizationId)
                    .col(Repositories::Host)
                    .col(Repositories::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(NEW)
                    .table(Repositories::Table)
                    .to_owned(),
            )
            .await
    }
}
