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

/// Creates the unique index `create` on `columns`, then drops `drop`.
async fn swap(
    manager: &SchemaManager<'_>,
    create: &str,
    columns: [Repositories; 3],
    drop: &str,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(create).table(Repositories::Table).unique();
    for column in columns {
        index.col(column);
    }
    manager.create_index(index.to_owned()).await?;
    manager
        .drop_index(
            Index::drop()
                .name(drop)
                .table(Repositories::Table)
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Repositories::*;
        swap(manager, NEW, [ExternalId, Host, OrganizationId], OLD).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Repositories::*;
        swap(manager, OLD, [OrganizationId, Host, ExternalId], NEW).await
    }
}
