//! The validated settings and the types they are made of.

use super::{ConfigError, bad};
use jobs::{Endpoints, NetworkPolicy};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file (created if missing).
    Sqlite(String),
    /// A PostgreSQL server.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `sqlite://path`, `sqlite:path` or `postgres://…`.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Url::parse(raw).map_err(|e| bad("TETHER_DATABASE_URL", e.to_string()))?;
            Ok(Self::Postgres(raw.to_owned()))
        } else if raw.starts_with("sqlite:") {
            Ok(Self::Sqlite(raw.to_owned()))
        } else {
            Err(bad(
                "TETHER_DATABASE_URL",
                "expected sqlite://<file> or postgres://user@host/db",
            ))
        }
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sqlite(u) | Self::Postgres(u) => u,
        }
    }
}

/// A URL with its password replaced, for logs and `Debug`.
pub fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redacted(self.as_str()))
    }
}

/// Where the encryption keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `TETHER_ENCRYPTION_KEYS`.
    Configured(SecretString),
    /// A key file, generated with mode 0600 on first start.
    File(PathBuf),
}

/// GraphQL request limits.
#[derive(Debug, Clone, Copy)]
pub struct GraphqlLimits {
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Deepest selection set.
    pub max_depth: usize,
    /// Costliest query.
    pub max_complexity: usize,
    /// Most aliases per document.
    pub max_aliases: usize,
    /// Whether introspection is allowed.
    pub introspection: bool,
    /// Whether GraphiQL is served.
    pub graphiql: bool,
}

/// Log output.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// JSON lines instead of human-readable output.
    pub json: bool,
    /// A tracing filter.
    pub filter: String,
}

/// Validated settings.
#[derive(Clone)]
pub struct Settings {
    /// Address the API binds (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The database.
    pub database: DatabaseUrl,
    /// Pool size.
    pub database_max_connections: u32,
    /// Redis, for the job queues and rate-limit budgets (see [`Settings::uses_redis`]).
    pub redis_url: Option<Url>,
    /// Encryption keys.
    pub keys: KeySource,
    /// Outbound network policy for user-supplied URLs.
    pub network: NetworkPolicy,
    /// Provider endpoints.
    pub endpoints: Endpoints,
    /// GraphQL limits and switches.
    pub graphql: GraphqlLimits,
    /// Logging.
    pub log: LogSettings,
    /// Job queues and workers.
    pub jobs: JobSettings,
    /// The Tether GitHub App, its OAuth client, webhook secret and Tether's public URLs.
    pub github: super::GitHubSettings,
}

/// Job queues and workers.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Queue name prefix.
    pub namespace: String,
    /// Concurrent discoveries per provider queue and process.
    pub concurrency: usize,
    /// Scheduler tick.
    pub scheduler_every: std::time::Duration,
    /// Longest rate-limit wait inside a job.
    pub max_rate_limit_wait: std::time::Duration,
    /// Longest one discovery may run.
    pub discovery_deadline: std::time::Duration,
    /// Largest provider answer a job reads, in bytes.
    pub max_provider_body: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field(
                "redis_url",
                &self.redis_url.as_ref().map(|u| redacted(u.as_str())),
            )
            .field("keys", &self.keys)
            .field("network", &self.network)
            .field("endpoints", &self.endpoints)
            .field("graphql", &self.graphql)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Whether the data lives in an SQLite file: an embedded database, migrated by whichever
    /// command opens it (PostgreSQL is migrated only by `tether migrate`).
    pub fn uses_sqlite(&self) -> bool {
        matches!(self.database, DatabaseUrl::Sqlite(_))
    }

    /// Whether the job queues and rate-limit budgets live in Redis, shared by every process;
    /// otherwise the queues are in the SQLite database and the budgets in this process.
    pub fn uses_redis(&self) -> bool {
        self.redis_url.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawSettings;

    fn settings(database_url: &str, redis_url: Option<&str>) -> Settings {
        Settings::from_raw(RawSettings {
            database_url: database_url.into(),
            redis_url: redis_url.map(Into::into),
            ..RawSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn the_database_and_the_queues_are_separate_choices() {
        let sqlite = settings("sqlite://tether.db", None);
        assert!(sqlite.uses_sqlite() && !sqlite.uses_redis());
        // SQLite with Redis queues is still an embedded database, so `serve` migrates it.
        let sqlite_redis = settings("sqlite://tether.db", Some("redis://cache:6379"));
        assert!(sqlite_redis.uses_sqlite() && sqlite_redis.uses_redis());
        let postgres = settings("postgres://tether@db/tether", Some("redis://cache:6379"));
        assert!(!postgres.uses_sqlite() && postgres.uses_redis());
    }

    #[test]
    fn debug_output_hides_passwords_and_keys() {
        let raw = RawSettings {
            database_url: "postgres://tether:hunter2@db/tether".into(),
            redis_url: Some("redis://:hunter3@cache:6379".into()),
            encryption_keys: Some(format!("k1:{}", "A".repeat(43) + "=")),
            ..RawSettings::default()
        };
        let printed = format!("{:?}", Settings::from_raw(raw).unwrap());
        assert!(
            !printed.contains("hunter2")
                && !printed.contains("hunter3")
                && !printed.contains("AAAA"),
            "{printed}"
        );
    }
}
