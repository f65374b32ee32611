//! What discovery needs on a connection: its adaptive interval and a lease so that at most one
//! discovery per connection runs at a time, across every worker process.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Connections {
    Table,
    DiscoveryIntervalSecs,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Connections::DiscoveryIntervalSecs)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(Connections::LeaseOwner)
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(Connections::LeaseUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Connections::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Connections::LeaseUntil,
            Connections::LeaseOwner,
            Connections::DiscoveryIntervalSecs,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Connections::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
