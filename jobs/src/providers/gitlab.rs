//! GitLab (gitlab.com or self-managed): personal/group/service-account access tokens sent as
//! `PRIVATE-TOKEN`.

use super::http::{error_json, host_label, json, send, unexpected};
use super::segment;
use super::{Credential, Endpoints, ProviderClient, ValidatedScope, required, wrong_scope};
use crate::fetch::{FetchError, Fetcher};
use crate::listing::PageSink;
use crate::refresh::{HeadCommit, RepoRef, conditional_sha};
use crate::{CheckError, GroupPath, HttpClients, InstanceUrl, Scope};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

#[path = "gitlab_listing.rs"]
mod listing;

/// The role GitLab calls Reporter; anything lower cannot read repositories.
const REPORTER: u32 = 20;
const REQUIRED_SCOPES: [&str; 2] = ["read_api", "read_repository"];

/// GitLab's client.
#[derive(Clone)]
pub struct GitLab {
    clients: HttpClients,
    default_instance: Url,
}

#[derive(Deserialize)]
struct TokenSelf {
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    revoked: bool,
    expires_at: Option<NaiveDate>,
    user_id: Option<u64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Group {
    id: u64,
    full_path: String,
    #[serde(default)]
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    access_level: u32,
}

/// Scopes that grant what `required` grants: GitLab maps `api` to every ability (repository
/// download included), and `write_repository` includes reading.
fn satisfied_by(required: &str, granted: &[String]) -> bool {
    granted.iter().any(|g| {
        g == required || g == "api" || (required == "read_repository" && g == "write_repository")
    })
}

impl GitLab {
    /// Builds the client; `endpoints.gitlab` is the instance used when none is given.
    pub fn new(clients: HttpClients, endpoints: &Endpoints) -> Self {
        Self {
            clients,
            default_instance: endpoints.gitlab.clone(),
        }
    }

    /// The instance's base URL and the client for it (SSRF-guarded when the user chose it).
    fn endpoint(&self, instance: Option<&InstanceUrl>) -> (String, &reqwest::Client) {
        match instance {
            Some(url) => (url.as_str().to_owned(), self.clients.guarded()),
            None => (
                self.default_instance
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                self.clients.trusted(),
            ),
        }
    }

    async fn check(
        &self,
        instance: Option<&InstanceUrl>,
        group: &GroupPath,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        if let Some(url) = instance {
            self.clients.vet(url.url(), "instanceUrl").await?;
        }
        let (base, client) = self.endpoint(instance);
        let host = Url::parse(&base)
            .map(|u| host_label(&u))
            .unwrap_or_else(|_| base.clone());
        let token = credential.token.secret().expose_secret();
        let get = |path: String| {
            client
                .get(format!("{base}/api/v4/{path}"))
                .header("PRIVATE-TOKEN", token)
        };

        let response = send(get("personal_access_tokens/self".into()), &host).await?;
        let me: TokenSelf = match response.status() {
            StatusCode::OK => json(response, &host).await?,
            StatusCode::UNAUTHORIZED => {
                let body = error_json(response, &host).await;
                let description = body["error_description"]
                    .as_str()
                    .or(body["message"].as_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                return Err(if description.contains("expired") {
                    CheckError::TokenExpired(format!("the token has expired on {host}"))
                } else if description.contains("revoked") {
                    CheckError::InvalidToken(format!("the token was revoked on {host}"))
                } else {
                    CheckError::InvalidToken(format!("{host} does not accept this token"))
                });
            }
            // 400: an OAuth or CI job token, which cannot introspect itself.
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
                return Err(CheckError::InvalidToken(format!(
                    "{host} does not accept this kind of token: use a personal, group, project or \
                     service-account access token"
                )));
            }
            StatusCode::NOT_FOUND => {
                return Err(CheckError::Unreachable(format!(
                    "{host} has no token introspection endpoint (GitLab 15.5 or newer is required)"
                )));
            }
            _ => return Err(unexpected(&host, &response)),
        };
        if me.revoked {
            return Err(CheckError::InvalidToken(format!(
                "the token was revoked on {host}"
            )));
        }
        let today = chrono::Utc::now().date_naive();
        if me.expires_at.is_some_and(|d| d <= today) {
            return Err(CheckError::TokenExpired(format!(
                "the token expired on {}",
                me.expires_at.map(|d| d.to_string()).unwrap_or_default()
            )));
        }
        if !me.active {
            return Err(CheckError::InvalidToken(format!(
                "the token is not active on {host}"
            )));
        }
        let missing: Vec<String> = REQUIRED_SCOPES
            .iter()
            .filter(|s| !satisfied_by(s, &me.scopes))
            .map(|s| (*s).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(CheckError::InsufficientScope { missing });
        }

        let encoded = group.as_str().replace('/', "%2F");
        let response = send(get(format!("groups/{encoded}?with_projects=false")), &host).await?;
        let found: Group = match response.status() {
            StatusCode::OK => json(response, &host).await?,
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
                return Err(CheckError::ScopeNotFound(format!(
                    "group {:?} was not found on {host}, or the token cannot see it",
                    group.as_str()
                )));
            }
            StatusCode::UNAUTHORIZED => {
                return Err(CheckError::InvalidToken(format!(
                    "{host} does not accept this token"
                )));
            }
            _ => return Err(unexpected(&host, &response)),
        };

        let user = me.user_id.ok_or_else(|| {
            CheckError::Unreachable(format!("{host} did not say which user owns the token"))
        })?;
        let response = send(
            get(format!("groups/{}/members/all/{user}", found.id)),
            &host,
        )
        .await?;
        let level = match response.status() {
            StatusCode::OK => json::<Member>(response, &host).await?.access_level,
            StatusCode::NOT_FOUND => 0,
            _ => return Err(unexpected(&host, &response)),
        };
        if level < REPORTER {
            return Err(CheckError::InsufficientRole(format!(
                "the token's user needs the Reporter role or higher on {:?} (has {})",
                found.full_path,
                role_name(level)
            )));
        }

        Ok(ValidatedScope {
            display_name: found.full_name.unwrap_or_else(|| found.full_path.clone()),
        })
    }
}

fn role_name(level: u32) -> &'static str {
    match level {
        0 => "no membership",
        5 => "Minimal Access",
        10 => "Guest",
        15 => "Planner",
        20 => "Reporter",
        30 => "Developer",
        40 => "Maintainer",
        _ => "Owner",
    }
}

#[async_trait::async_trait]
impl ProviderClient for GitLab {
    async fn validate(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        match scope {
            Scope::GitlabGroup { instance, group } => {
                self.check(instance.as_ref(), group, credential).await
            }
            _ => Err(wrong_scope()),
        }
    }

    async fn list(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let Scope::GitlabGroup { instance, group } = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let credential = required(credential)?;
        let (base, client) = self.endpoint(instance.as_ref());
        let lister = listing::GroupLister {
            client,
            base: &base,
            group: group.as_str(),
            token: credential.token.secret().expose_secret(),
            fetcher,
        };
        lister.run(pages).await
    }

    async fn head_commit(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        let Scope::GitlabGroup { instance, .. } = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let credential = required(credential)?;
        let (base, client) = self.endpoint(instance.as_ref());
        let request = client
            .get(format!(
                "{base}/api/v4/projects/{}/repository/branches/{}",
                repo.external_id,
                segment(repo.default_branch)
            ))
            .header("PRIVATE-TOKEN", credential.token.secret().expose_secret());
        conditional_sha(fetcher, request, repo.etag, "/commit/id").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broader_scopes_satisfy_narrower_ones() {
        let granted = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(satisfied_by("read_api", &granted(&["api"])));
        assert!(satisfied_by(
            "read_repository",
            &granted(&["write_repository"])
        ));
        assert!(satisfied_by("read_repository", &granted(&["api"])));
        assert!(!satisfied_by("read_repository", &granted(&["read_api"])));
        assert!(!satisfied_by("read_api", &granted(&["read_user"])));
    }
}
