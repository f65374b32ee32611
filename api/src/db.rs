//! Database connections: SQLite tuned for concurrent readers and one writer at a time (WAL, a
//! busy timeout, a real pool), PostgreSQL as is.

use crate::config::DatabaseUrl;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

/// Opens a pool of `max_connections` to `url`.
pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.as_str());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if let DatabaseUrl::Sqlite(_) = url {
        options.map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                .statement_cache_capacity(16)
                // Each time the WAL starts over it is cut back to 64 MiB: a burst (a first
                // discovery of 100,000 repositories) left an 80 MB file behind otherwise.
                .pragma("journal_size_limit", (64 * 1024 * 1024).to_string())
        });
    }
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
