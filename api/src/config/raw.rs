//! The settings as people write them: names, defaults, and the layers they are merged from.

use super::{ConfigError, bad};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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
    /// `TETHER_REDIS_URL`: where the job queues and rate-limit budgets live (required with
    /// PostgreSQL; unset with SQLite: the queues stay in the database, the budgets in the process).
    pub redis_url: Option<String>,
    /// `TETHER_ENCRYPTION_KEYS`: `id:base64key,…`, first encrypts.
    pub encryption_keys: Option<String>,
    /// `TETHER_KEY_FILE`: where generated keys are kept when `TETHER_ENCRYPTION_KEYS` is unset.
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
    /// `TETHER_GITHUB_APP_SLUG`: the app's URL name (`github.com/apps/<slug>`).
    pub github_app_slug: Option<String>,
    /// `TETHER_GITHUB_CLIENT_ID`: the app's OAuth client id (linking accounts).
    #[serde(deserialize_with = "string_or_number")]
    pub github_client_id: Option<String>,
    /// `TETHER_GITHUB_CLIENT_SECRET`: the app's OAuth client secret.
    #[serde(deserialize_with = "string_or_number")]
    pub github_client_secret: Option<String>,
    /// `TETHER_GITHUB_WEBHOOK_SECRET`: the secret GitHub signs webhook deliveries with.
    #[serde(deserialize_with = "string_or_number")]
    pub github_webhook_secret: Option<String>,
    /// `TETHER_PUBLIC_URL`: Tether's own base URL, as browsers and GitHub reach it.
    pub public_url: Option<String>,
    /// `TETHER_FRONTEND_URL`: where browser flows (linking, installing) end.
    pub frontend_url: Option<String>,
    /// `TETHER_GITLAB_URL`: the default GitLab instance.
    pub gitlab_url: String,
    /// `TETHER_BITBUCKET_API_URL`.
    pub bitbucket_api_url: String,
    /// `TETHER_AZURE_DEVOPS_URL`: where cloud Azure DevOps requests go (tests, fake host).
    pub azure_devops_url: Option<String>,
    /// `TETHER_GRAPHIQL`: serve GraphiQL (default: on with an SQLite database).
    pub graphiql: Option<bool>,
    /// `TETHER_INTROSPECTION`: allow introspection (default: on with an SQLite database).
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
    /// `TETHER_DISCOVERY_DEADLINE_SECS`: the longest one discovery may run; past it the run
    /// ends `PARTIAL`, its lease is released and the connection comes due again.
    pub discovery_deadline_secs: u64,
    /// `TETHER_PROVIDER_MAX_BODY_BYTES`: the largest provider answer a job reads (a listing
    /// page, Azure's whole repository list); past it the run ends `PARTIAL` with an issue
    /// naming the endpoint.
    pub provider_max_body_bytes: u64,
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
            github_app_slug: None,
            github_client_id: None,
            github_client_secret: None,
            github_webhook_secret: None,
            public_url: None,
            frontend_url: None,
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
            discovery_deadline_secs: 900,
            provider_max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

impl RawSettings {
    /// Merges the defaults, then `tether.toml` (or the file named by `TETHER_CONFIG`), then
    /// `TETHER_*`; only the shape is checked here.
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
        figment.extract().map_err(|e| {
            let setting = e
                .path
                .first()
                .map(|p| format!("TETHER_{}", p.to_ascii_uppercase()))
                .unwrap_or_else(|| file.clone());
            bad(&setting, e.kind.to_string())
        })
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

/// The setting names (lowercase, without the prefix), as the environment provider sees them.
fn known_keys() -> Vec<String> {
    match serde_json::to_value(RawSettings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrelated_tether_variables_are_not_settings() {
        let keys = known_keys();
        assert!(keys.contains(&"database_url".to_owned()));
        assert!(!keys.contains(&"admin_password".to_owned()));
    }
}
