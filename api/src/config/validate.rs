//! Turns [`RawSettings`] into [`Settings`], or names the first setting that is wrong.

use super::{
    ConfigError, DatabaseUrl, GraphqlLimits, JobSettings, KeySource, LogSettings, RawSettings,
    Settings, bad,
};
use jobs::{Endpoints, NetworkPolicy};
use secrecy::SecretString;
use std::path::PathBuf;
use url::Url;

impl Settings {
    /// Loads defaults, then `tether.toml` (or the file named by `TETHER_CONFIG`), then `TETHER_*`.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_raw(RawSettings::load()?)
    }

    /// Validates raw settings.
    pub fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let github = super::github::from_raw(&raw)?;
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
        for (value, setting) in [
            (raw.worker_concurrency as u64, "TETHER_WORKER_CONCURRENCY"),
            (
                raw.scheduler_interval_secs,
                "TETHER_SCHEDULER_INTERVAL_SECS",
            ),
            (
                raw.discovery_deadline_secs,
                "TETHER_DISCOVERY_DEADLINE_SECS",
            ),
            (
                raw.provider_max_body_bytes,
                "TETHER_PROVIDER_MAX_BODY_BYTES",
            ),
        ] {
            if value == 0 {
                return Err(bad(setting, "must be at least 1"));
            }
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
            github,
            jobs: JobSettings {
                namespace: namespace.to_owned(),
                concurrency: raw.worker_concurrency,
                scheduler_every: std::time::Duration::from_secs(raw.scheduler_interval_secs),
                max_rate_limit_wait: std::time::Duration::from_secs(raw.max_rate_limit_wait_secs),
                discovery_deadline: std::time::Duration::from_secs(raw.discovery_deadline_secs),
                max_provider_body: usize::try_from(raw.provider_max_body_bytes)
                    .unwrap_or(usize::MAX),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let settings = Settings::from_raw(RawSettings::default()).unwrap();
        assert!(settings.uses_sqlite() && !settings.uses_redis());
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
}
