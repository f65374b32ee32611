//! GitHub through the Tether GitHub App. Creating a connection checks, with the user's linked
//! account token, that the installation is visible to them and grants contents and metadata read.

use super::http::{host_label, json, next_link, send, unexpected};
use super::segment;
use super::{Credential, Endpoints, ProviderClient, ValidatedScope, wrong_scope};
use crate::fetch::{FetchError, Fetcher};
use crate::listing::PageSink;
use crate::refresh::{HeadCommit, RepoRef, conditional_sha};
use crate::{CheckError, HttpClients, InstallationId, Scope};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use url::Url;

use super::github_app::GitHubApp;
#[path = "github_listing.rs"]
mod github_listing;

/// GitHub's client.
#[derive(Clone)]
pub struct GitHub {
    clients: HttpClients,
    api: Url,
    app: Option<Arc<GitHubApp>>,
}

#[derive(Deserialize)]
struct Installations {
    installations: Vec<Installation>,
}

#[derive(Deserialize)]
struct Installation {
    id: i64,
    account: Option<Account>,
    #[serde(default)]
    permissions: HashMap<String, String>,
    suspended_at: Option<String>,
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

/// Upper bound on pages of `/user/installations` (100 per page).
const MAX_PAGES: usize = 50;

impl GitHub {
    /// Builds the client against `endpoints.github_api`.
    pub fn new(clients: HttpClients, endpoints: &Endpoints, app: Option<Arc<GitHubApp>>) -> Self {
        Self {
            clients,
            api: endpoints.github_api.clone(),
            app,
        }
    }

    async fn find(
        &self,
        id: InstallationId,
        credential: &Credential,
    ) -> Result<Installation, CheckError> {
        let host = host_label(&self.api);
        let token = credential.token.secret().expose_secret();
        let mut next = Some(format!(
            "{}/user/installations?per_page=100",
            self.api.as_str().trim_end_matches('/')
        ));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let request = self
                .clients
                .trusted()
                .get(&url)
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            let response = send(request, &host).await?;
            match response.status() {
                StatusCode::OK => {}
                // 403: not a GitHub App user token (only those may list installations).
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(CheckError::InvalidToken(
                        "GitHub no longer accepts your linked account; link your GitHub account again"
                            .into(),
                    ));
                }
                _ => return Err(unexpected(&host, &response)),
            }
            next = next_link(&response).filter(|_| pages < MAX_PAGES);
            let page: Installations = json(response, &host).await?;
            if let Some(found) = page.installations.into_iter().find(|i| i.id == id.get()) {
                return Ok(found);
            }
        }
        Err(CheckError::ScopeNotFound(format!(
            "installation {} of the Tether GitHub App is not visible to your linked GitHub account",
            id.get()
        )))
    }
}

fn grants_read(permissions: &HashMap<String, String>, name: &str) -> bool {
    matches!(
        permissions.get(name).map(String::as_str),
        Some("read" | "write" | "admin")
    )
}

#[async_trait::async_trait]
impl ProviderClient for GitHub {
    async fn validate(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        let Scope::GithubInstallation(id) = scope else {
            return Err(wrong_scope());
        };
        let installation = self.find(*id, credential).await?;
        if installation.suspended_at.is_some() {
            return Err(CheckError::ScopeNotFound(format!(
                "installation {} of the Tether GitHub App is suspended; unsuspend it on GitHub first",
                id.get()
            )));
        }
        let missing: Vec<String> = ["contents", "metadata"]
            .into_iter()
            .filter(|p| !grants_read(&installation.permissions, p))
            .map(|p| format!("{p}:read"))
            .collect();
        if !missing.is_empty() {
            return Err(CheckError::InsufficientScope { missing });
        }
        let login = installation
            .account
            .map(|a| a.login)
            .unwrap_or_else(|| format!("installation {}", id.get()));
        Ok(ValidatedScope {
            display_name: login,
        })
    }

    async fn list(
        &self,
        scope: &Scope,
        _credential: Option<&Credential>,
        fetcher: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let Scope::GithubInstallation(installation) = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let Some(app) = &self.app else {
            return Err(FetchError::Unauthorized(
                "this server has no GitHub App configured (TETHER_GITHUB_APP_ID, \
                 TETHER_GITHUB_APP_PRIVATE_KEY)"
                    .into(),
            ));
        };
        let api = self.api.as_str().trim_end_matches('/');
        let client = self.clients.trusted();
        let token = app
            .installation_token(client, api, installation.get(), fetcher)
            .await?;
        let lister = github_listing::InstallationLister {
            client,
            api,
            token: token.expose_secret(),
            fetcher,
        };
        lister.run(pages).await
    }

    async fn head_commit(
        &self,
        scope: &Scope,
        _credential: Option<&Credential>,
        fetcher: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        let Scope::GithubInstallation(installation) = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let Some(app) = &self.app else {
            return Err(FetchError::Unauthorized(
                "this server has no GitHub App configured".into(),
            ));
        };
        let api = self.api.as_str().trim_end_matches('/');
        let client = self.clients.trusted();
        let token = app
            .installation_token(client, api, installation.get(), fetcher)
            .await?;
        // A conditional request answered 304 does not count against GitHub's rate limit.
        let request = client
            .get(format!(
                "{api}/repos/{}/branches/{}",
                repo.full_name,
                segment(repo.default_branch)
            ))
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        conditional_sha(fetcher, request, repo.etag, "/commit/sha").await
    }
}
