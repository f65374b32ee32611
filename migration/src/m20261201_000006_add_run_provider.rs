//! The dashboard reads runs per organization, newest first, and counts them per hour and
//! provider queue: runs record their provider (kept when the connection is deleted) and get the
//! indexes those reads need. A running discovery can be cancelled from any process: the request
//! is a column its worker polls.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiscoveryRuns {
    Table,
    Id,
    Provider,
    OrganizationId,
    ConnectionId,
    StartedAt,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    Provider,
    CancelRequestedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DiscoveryRuns::Table)
                    .add_column(
                        ColumnDef::new(DiscoveryRuns::Provider)
                            .string_len(16)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .add_column(
                        ColumnDef::new(Connections::CancelRequestedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Earlier runs take their connection's provider; those of deleted connections stay null.
        let backfill = Query::update()
            .table(DiscoveryRuns::Table)
            .value(
                DiscoveryRuns::Provider,
                SimpleExpr::SubQuery(
                    None,
                    Box::new(
                        Query::select()
                            .column(Connections::Provider)
                            .from(Connections::Table)
                            .and_where(
                                Expr::col((Connections::Table, Connections::Id))
                                    .equals((DiscoveryRuns::Table, DiscoveryRuns::ConnectionId)),
                            )
                            .to_owned()
                            .into_sub_query_statement(),
                    ),
                ),
            )
            .to_owned();
        manager.exec_stmt(backfill).await?;
        for (name, column) in [
            ("ix_discovery_runs_organization_id", DiscoveryRuns::Id),
            (
                "ix_discovery_runs_organization_started",
                DiscoveryRuns::StartedAt,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DiscoveryRuns::Table)
                        .col(DiscoveryRuns::OrganizationId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_discovery_runs_organization_id",
            "ix_discovery_runs_organization_started",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(DiscoveryRuns::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Connections::Table)
                    .drop_column(Connections::CancelRequestedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DiscoveryRuns::Table)
                    .drop_column(DiscoveryRuns::Provider)
                    .to_owned(),
            )
            .await
    }
}
