//! Layered configuration: embedded defaults, then `tether.toml` (or `TETHER_CONFIG`), then
//! `TETHER_*` environment variables. Everything is validated here, at start, with an error that
//! names the setting; the rest of the program only sees parsed values.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use jobs::{Endpoints, NetworkPolicy};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// The settings as written by people: every one has a flat `TETHER_<NAME>` variable.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSettings {
    /// `TETHER_LISTEN`: address the API binds.
    pub listen: String,
    /// `TETHER_DATABASE_URL`: `sqlite://path` (embedded) or `postgres://…`.
    pub database_url: String,
    /// `TETHER_DATABASE_MAX_CONNECTIONS`: pool size (unset: 8 on SQLite, whose writes take turns
    /// anyway; 20 on PostgreSQL, where a process's concurrent discoveries each write).
    pub database_max_connections: Option<u32>,
    /// `TETHER_REDIS_URL`: unset = embedded mode.
    pub redis_url: Option<String>,
    /// `TETHER_ENCRYPTION_KEYS`: `id:base64key,…`, first encrypts.
    pub encryption_keys: Option<String>,
    /// `TETHER_KEY_FILE`: where embedded mode keeps its generated keys.
    pub key_file: String,
    /// `TETHER_ALLOW_PRIVATE_NETWORKS`: let user-supplied URLs reach private addresses.
    pub allow_private_networks: bool,
    /// `TETHER_GITHUB_API_URL`.
    pub github_api_url: String,
    /// `TETHER_GITHUB_WEB_URL`.
    pub github_web_url: String,
    /// `TETHER_GITHUB_APP_ID`: the Tether GitHub App's id.
    #[serde(deserialize_with = "string_or_number")]
    pub github_app_id: Option<String>,
    /// `TETHER_GITHUB_APP_PRIVATE_KEY`: its PEM private key (or use the `_FILE` variant).
    pub github_app_private_key: Option<String>,
    /// `TETHER_GITHUB_APP_PRIVATE_KEY_FILE`: a file holding the PEM private key.
    pub github_app_private_key_file: Option<String>,
    /// `TETHER_GITLAB_URL`: the default GitLab instance.
    pub gitlab_url: String,
    /// `TETHER_BITBUCKET_API_URL`.
    pub bitbucket_api_url: String,
    /// `TETHER_AZURE_DEVOPS_URL`: where cloud Azure DevOps requests go (tests, fake host).
    pub azure_devops_url: Option<String>,
    /// `TETHER_GRAPHIQL`: serve GraphiQL (default: on in embedded mode).
    pub graphiql: Option<bool>,
    /// `TETHER_INTROSPECTION`: allow introspection (default: on in embedded mode).
    pub introspection: Option<bool>,
    /// `TETHER_MAX_BODY_BYTES`: largest GraphQL request body.
    pub max_body_bytes: usize,
    /// `TETHER_MAX_DEPTH`: deepest GraphQL selection.
    pub max_depth: usize,
    /// `TETHER_MAX_COMPLEXITY`: costliest GraphQL query.
    pub max_complexity: usize,
    /// `TETHER_MAX_ALIASES`: most aliases in one GraphQL document.
    pub max_aliases: usize,
    /// `TETHER_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: String,
    /// `TETHER_LOG`: a tracing filter such as `info,api=debug`.
    pub log: String,
    /// `TETHER_QUEUE_NAMESPACE`: prefix of the job queues (one Redis can serve several Tethers).
    pub queue_namespace: String,
    /// `TETHER_WORKER_CONCURRENCY`: discoveries run at once per provider queue by one process.
    pub worker_concurrency: usize,
    /// `TETHER_SCHEDULER_INTERVAL_SECS`: how often due connections are enqueued.
    pub scheduler_interval_secs: u64,
    /// `TETHER_MAX_RATE_LIMIT_WAIT_SECS`: the longest a worker waits for a provider's rate
    /// limit; longer waits end the run and bring the connection back at the reset.
    pub max_rate_limit_wait_secs: u64,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://tether.db".into(),
            database_max_connections: None,
            redis_url: None,
            encryption_keys: None,
            key_file: "tether.key".into(),
            allow_private_networks: false,
            github_api_url: "https://api.github.com".into(),
            github_web_url: "https://github.com".into(),
            github_app_id: None,
            github_app_private_key: None,
            github_app_private_key_file: None,
            gitlab_url: "https://gitlab.com".into(),
            bitbucket_api_url: "https://api.bitbucket.org".into(),
            azure_devops_url: None,
            graphiql: None,
            introspection: None,
            max_body_bytes: 1024 * 1024,
            max_depth: 15,
            max_complexity: 20_000,
            max_aliases: 30,
            log_format: "pretty".into(),
            log: "info".into(),
            queue_namespace: "tether".into(),
            worker_concurrency: 4,
            scheduler_interval_secs: 5,
            max_rate_limit_wait_secs: 30,
        }
    }
}

/// Environment values that look like numbers arrive as numbers; ids are text to us.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Text(text) => text,
        Raw::Number(n) => n.to_string(),
    }))
}

/// The GitHub App's id and key: both or neither, and the key must parse.
fn github_app(
    raw: &RawSettings,
) -> Result<Option<jobs::providers::GitHubAppCredentials>, ConfigError> {
    let key = match (
        &raw.github_app_private_key,
        &raw.github_app_private_key_file,
    ) {
        (Some(pem), _) if !pem.trim().is_empty() => Some(SecretString::from(pem.clone())),
        (_, Some(path)) if !path.trim().is_empty() => {
            let pem = std::fs::read_to_string(path.trim()).map_err(|e| {
                bad(
                    "TETHER_GITHUB_APP_PRIVATE_KEY_FILE",
                    format!("cannot read {path}: {e}"),
                )
            })?;
            Some(SecretString::from(pem))
        }
        _ => None,
    };
    let id = raw
        .github_app_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (id, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(bad(
            "TETHER_GITHUB_APP_PRIVATE_KEY",
            "required with TETHER_GITHUB_APP_ID",
        )),
        (None, Some(_)) => Err(bad(
            "TETHER_GITHUB_APP_ID",
            "required with the app's private key",
        )),
        (Some(id), Some(private_key)) => {
            let credentials = jobs::providers::GitHubAppCredentials {
                app_id: id.to_owned(),
                private_key,
            };
            jobs::providers::GitHubApp::new(&credentials)
                .map_err(|e| bad("TETHER_GITHUB_APP_PRIVATE_KEY", e.to_string()))?;
            Ok(Some(credentials))
        }
    }
}

/// The setting names (lowercase, without the prefix), as the environment provider sees them.
fn known_keys() -> Vec<String> {
    match serde_json::to_value(RawSettings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {setting}: {message}")]
pub struct ConfigError {
    /// The environment variable that carries the setting.
    pub setting: String,
    /// What is wrong.
    pub message: String,
}

fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

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
    /// Redis, in production mode.
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
    /// The Tether GitHub App, when configured.
    pub github_app: Option<jobs::providers::GitHubAppCredentials>,
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
    /// Loads defaults, then `tether.toml` (or the file named by `TETHER_CONFIG`), then `TETHER_*`.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("TETHER_CONFIG").unwrap_or_else(|_| "tether.toml".into());
        // Only documented variables are settings: others (TETHER_ADMIN_PASSWORD, test helpers)
        // belong to someone else and must not stop the server.
        let known = known_keys();
        let figment = Figment::from(Serialized::defaults(RawSettings::default()))
            .merge(Toml::file(&file))
            .merge(
                Env::prefixed("TETHER_")
                    .filter(move |key| known.iter().any(|k| key.as_str().eq_ignore_ascii_case(k))),
            );
        let raw: RawSettings = figment.extract().map_err(|e| {
            let setting = e
                .path
                .first()
                .map(|p| format!("TETHER_{}", p.to_ascii_uppercase()))
                .unwrap_or_else(|| file.clone());
            bad(&setting, e.kind.to_string())
        })?;
        Self::from_raw(raw)
    }

    /// Validates raw settings.
    pub fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let github_app = github_app(&raw)?;
        let listen = raw.listen.parse().map_err(|_| {
            bad(
                "TETHER_LISTEN",
                format!("{:?} is not host:port", raw.listen),
            )
        })?;
        let database = DatabaseUrl::parse(&raw.database_url)?;
        let database_max_connections = match (raw.database_max_connections, &database) {
            (Some(0), _) => {
                return Err(bad("TETHER_DATABASE_MAX_CONNECTIONS", "must be at least 1"));
            }
            (Some(n), _) => n,
            (None, DatabaseUrl::Sqlite(_)) => 8,
            (None, _) => 20,
        };
        let redis_url = raw
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Url::parse(s)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "redis" | "rediss"))
                    .ok_or_else(|| bad("TETHER_REDIS_URL", "expected redis://host:port"))
            })
            .transpose()?;
        let keys = match raw.encryption_keys.filter(|k| !k.trim().is_empty()) {
            Some(spec) => {
                let spec = SecretString::from(spec);
                entities::Keyring::parse(&spec)
                    .map_err(|e| bad("TETHER_ENCRYPTION_KEYS", e.to_string()))?;
                KeySource::Configured(spec)
            }
            None => KeySource::File(PathBuf::from(raw.key_file)),
        };
        let url = |setting: &str, value: &str| {
            Url::parse(value.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| bad(setting, format!("{value:?} is not an http(s) URL")))
        };
        let endpoints = Endpoints {
            github_api: url("TETHER_GITHUB_API_URL", &raw.github_api_url)?,
            github_web: url("TETHER_GITHUB_WEB_URL", &raw.github_web_url)?,
            gitlab: url("TETHER_GITLAB_URL", &raw.gitlab_url)?,
            bitbucket_api: url("TETHER_BITBUCKET_API_URL", &raw.bitbucket_api_url)?,
            azure_devops: raw
                .azure_devops_url
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| url("TETHER_AZURE_DEVOPS_URL", s))
                .transpose()?,
        };
        // Development conveniences default on for the embedded (SQLite) setup only.
        let embedded = matches!(database, DatabaseUrl::Sqlite(_));
        for (setting, value) in [
            ("TETHER_MAX_BODY_BYTES", raw.max_body_bytes),
            ("TETHER_MAX_DEPTH", raw.max_depth),
            ("TETHER_MAX_COMPLEXITY", raw.max_complexity),
            ("TETHER_MAX_ALIASES", raw.max_aliases),
        ] {
            if value == 0 {
                return Err(bad(setting, "must be at least 1"));
            }
        }
        if matches!(database, DatabaseUrl::Postgres(_)) && redis_url.is_none() {
            return Err(bad(
                "TETHER_REDIS_URL",
                "required with a PostgreSQL database: the job queues live in Redis",
            ));
        }
        let namespace = raw.queue_namespace.trim();
        let namespace_ok = !namespace.is_empty()
            && namespace.len() <= 64
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !namespace_ok {
            return Err(bad(
                "TETHER_QUEUE_NAMESPACE",
                "use 1-64 letters, digits, '-' or '_'",
            ));
        }
        if raw.worker_concurrency == 0 || raw.scheduler_interval_secs == 0 {
            let setting = if raw.worker_concurrency == 0 {
                "TETHER_WORKER_CONCURRENCY"
            } else {
                "TETHER_SCHEDULER_INTERVAL_SECS"
            };
            return Err(bad(setting, "must be at least 1"));
        }
        let json = match raw.log_format.as_str() {
            "json" => true,
            "pretty" => false,
            other => {
                return Err(bad(
                    "TETHER_LOG_FORMAT",
                    format!("{other:?}: use pretty or json"),
                ));
            }
        };
        Ok(Self {
            listen,
            database,
            database_max_connections,
            redis_url,
            keys,
            network: NetworkPolicy {
                allow_private_networks: raw.allow_private_networks,
            },
            endpoints,
            graphql: GraphqlLimits {
                max_body_bytes: raw.max_body_bytes,
                max_depth: raw.max_depth,
                max_complexity: raw.max_complexity,
                max_aliases: raw.max_aliases,
                introspection: raw.introspection.unwrap_or(embedded),
                graphiql: raw.graphiql.unwrap_or(embedded),
            },
            log: LogSettings {
                json,
                filter: raw.log,
            },
            github_app,
            jobs: JobSettings {
                namespace: namespace.to_owned(),
                concurrency: raw.worker_concurrency,
                scheduler_every: std::time::Duration::from_secs(raw.scheduler_interval_secs),
                max_rate_limit_wait: std::time::Duration::from_secs(raw.max_rate_limit_wait_secs),
            },
        })
    }

    /// Embedded mode: no Redis, everything in one process.
    pub fn is_embedded(&self) -> bool {
        self.redis_url.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let settings = Settings::from_raw(RawSettings::default()).unwrap();
        assert!(settings.is_embedded());
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert!(settings.graphql.introspection && settings.graphql.graphiql);
        assert!(matches!(settings.keys, KeySource::File(_)));
    }

    #[test]
    fn each_bad_setting_is_named() {
        type Mutation = Box<dyn Fn(&mut RawSettings)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("TETHER_LISTEN", Box::new(|r| r.listen = "nope".into())),
            (
                "TETHER_DATABASE_URL",
                Box::new(|r| r.database_url = "mysql://x".into()),
            ),
            (
                "TETHER_REDIS_URL",
                Box::new(|r| r.redis_url = Some("http://x".into())),
            ),
            (
                "TETHER_REDIS_URL",
                Box::new(|r| r.database_url = "postgres://tether@db/tether".into()),
            ),
            (
                "TETHER_QUEUE_NAMESPACE",
                Box::new(|r| r.queue_namespace = "a:b".into()),
            ),
            (
                "TETHER_ENCRYPTION_KEYS",
                Box::new(|r| r.encryption_keys = Some("k1:short".into())),
            ),
            (
                "TETHER_GITLAB_URL",
                Box::new(|r| r.gitlab_url = "gitlab.com".into()),
            ),
            (
                "TETHER_LOG_FORMAT",
                Box::new(|r| r.log_format = "xml".into()),
            ),
        ];
        for (setting, mutate) in cases {
            let mut raw = RawSettings::default();
            mutate(&mut raw);
            let err = Settings::from_raw(raw).unwrap_err();
            assert_eq!(err.setting, setting);
        }
    }

    #[test]
    fn postgres_switches_off_development_conveniences() {
        let raw = RawSettings {
            database_url: "postgres://tether@db.internal/tether".into(),
            redis_url: Some("redis://cache:6379".into()),
            ..RawSettings::default()
        };
        let settings = Settings::from_raw(raw).unwrap();
        assert!(!settings.graphql.introspection && !settings.graphql.graphiql);
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

    #[test]
    fn unrelated_tether_variables_are_not_settings() {
        let keys = known_keys();
        assert!(keys.contains(&"database_url".to_owned()));
        assert!(!keys.contains(&"admin_password".to_owned()));
    }
}
