//! A repository may be listed by several connections of its organization (a GitLab group and
//! one of its subgroups), so which connections list it moves to its own table,
//! `repository_connections`: one row per (connection, repository), `listed` while that
//! connection's listings include it. Every repository with a connection gets its link (listed
//! while it is `ACTIVE`), dated when it was first seen; detached ones have none, as before.
//!
//! `repositories.connection_id` then goes: PostgreSQL drops it. SQLite cannot drop a column a
//! foreign key names without rebuilding the table (and every table that refers to it), so
//! there the column stays, emptied and no longer read or written.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RepositoryConnections {
    Table,
    ConnectionId,
    RepositoryId,
    Listed,
    LinkedAt,
}

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Id,
    ConnectionId,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
}

const OLD_INDEX: &str = "ix_repositories_connection";
const OLD_FOREIGN_KEY: &str = "fk_repositories_connection";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RepositoryConnections::Table)
                    .col(
                        ColumnDef::new(RepositoryConnections::ConnectionId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RepositoryConnections::RepositoryId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RepositoryConnections::Listed)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RepositoryConnections::LinkedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // The key serves "this connection's links" (listing, counting, gone).
                    .primary_key(
                        Index::create()
                            .col(RepositoryConnections::ConnectionId)
                            .col(RepositoryConnections::RepositoryId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repository_connections_connection")
                            .from(
                                RepositoryConnections::Table,
                                RepositoryConnections::ConnectionId,
                            )
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_repository_connections_repository")
                            .from(
                                RepositoryConnections::Table,
                                RepositoryConnections::RepositoryId,
                            )
                            .to(Repositories::Table, Repositories::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "This repository's connections" (its connections, whether another still lists it).
        manager
            .create_index(
                Index::create()
                    .name("ix_repository_connections_repository")
                    .table(RepositoryConnections::Table)
                    .col(RepositoryConnections::RepositoryId)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO repository_connections (connection_id, repository_id, listed, linked_at) \
             SELECT connection_id, id, state = 'ACTIVE', first_seen_at FROM repositories \
             WHERE connection_id IS NOT NULL",
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(OLD_INDEX)
                    .table(Repositories::Table)
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("UPDATE repositories SET connection_id = NULL")
                    .await?;
            }
            _ => {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Repositories::Table)
                            .drop_column(Repositories::ConnectionId)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() != DbBackend::Sqlite {
            manager
                .alter_table(
                    Table::alter()
                        .table(Repositories::Table)
                        .add_column(ColumnDef::new(Repositories::ConnectionId).uuid().null())
                        .add_foreign_key(
                            TableForeignKey::new()
                                .name(OLD_FOREIGN_KEY)
                                .from_tbl(Repositories::Table)
                                .from_col(Repositories::ConnectionId)
                                .to_tbl(Connections::Table)
                                .to_col(Connections::Id)
                                .on_delete(ForeignKeyAction::SetNull),
                        )
                        .to_owned(),
                )
                .await?;
        }
        // One connection per repository again: the one that listed it first.
        db.execute_unprepared(
            "UPDATE repositories SET connection_id = (SELECT l.connection_id \
             FROM repository_connections l WHERE l.repository_id = repositories.id \
             ORDER BY l.listed DESC, l.linked_at, l.connection_id LIMIT 1)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD_INDEX)
                    .table(Repositories::Table)
                    .col(Repositories::ConnectionId)
                    .col(Repositories::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(RepositoryConnections::Table).to_owned())
            .await
    }
}
