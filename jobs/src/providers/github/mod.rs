//! GitHub through the Tether GitHub App: listings and refresh authenticate as the app's
//! installation; creating a connection checks, with the user's linked-account token, that the
//! installation is visible to them and grants contents and metadata read. The app's webhooks are
//! verified and parsed in [`webhooks`].

mod app;
mod check;
mod listing;
mod oauth;
mod refresh;
mod scope;
pub mod webhooks;

pub use app::{GitHubApp, GitHubAppCredentials, InvalidAppKey};
pub use oauth::{OAuthClient, OAuthError, UserTokens};
pub use scope::InstallationId;

use super::{Credential, PageSink, ProviderClient, ValidatedScope};
use super::{HeadCommit, RepoRef};
use crate::check::CheckError;
use crate::endpoints::Endpoints;
use crate::http::{FetchError, Fetcher, HttpClients};
use secrecy::SecretString;
use std::sync::Arc;
use url::Url;

/// A GitHub user, as `/user` answers and as webhook events name them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct GitHubUser {
    /// Their stable id.
    pub id: u64,
    /// Their login (logins change: for people, not for matching).
    pub login: String,
    /// Their avatar image (`/user` has it; events may not).
    #[serde(default)]
    pub avatar_url: Option<String>,
}

impl GitHubUser {
    /// The id as a decimal string: how linked accounts (`external_id`) and pending
    /// installation requests (`requested_by`) store it, so the two always agree.
    pub fn user_id(&self) -> String {
        self.id.to_string()
    }
}

/// The REST API version Tether is written against.
const API_VERSION: &str = "2022-11-28";

/// GitHub's client.
#[derive(Clone)]
pub struct GitHub {
    clients: HttpClients,
    api: Url,
    web: Url,
    app: Option<Arc<GitHubApp>>,
}

impl GitHub {
    /// Builds the client against `endpoints.github_api`.
    pub fn new(clients: HttpClients, endpoints: &Endpoints, app: Option<Arc<GitHubApp>>) -> Self {
        Self {
            clients,
            api: endpoints.github_api.clone(),
            web: endpoints.github_web.clone(),
            app,
        }
    }

    /// The API's base URL without a trailing slash.
    fn api(&self) -> &str {
        self.api.as_str().trim_end_matches('/')
    }

    /// A request to the REST API with `token`, asking for the versioned JSON media type.
    fn request(&self, method: reqwest::Method, url: &str, token: &str) -> reqwest::RequestBuilder {
        self.clients
            .trusted()
            .request(method, url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// An access token for `installation`, minted by the app (cached until shortly before it
    /// expires).
    async fn installation_token(
        &self,
        installation: InstallationId,
        http: &Fetcher,
    ) -> Result<SecretString, FetchError> {
        let Some(app) = &self.app else {
            return Err(FetchError::AppMisconfigured(
                "this server has no GitHub App configured: an operator must set \
                 TETHER_GITHUB_APP_ID and TETHER_GITHUB_APP_PRIVATE_KEY_FILE"
                    .into(),
            ));
        };
        app.installation_token(self, installation.get(), http).await
    }
}

impl ProviderClient for GitHub {
    type Scope = InstallationId;

    async fn check(
        &self,
        scope: &InstallationId,
        credential: &Credential,
        http: &Fetcher,
    ) -> Result<ValidatedScope, CheckError> {
        check::run(self, *scope, credential, http).await
    }

    async fn list(
        &self,
        scope: &InstallationId,
        _credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let token = self.installation_token(*scope, http).await?;
        let lister = listing::InstallationLister {
            github: self,
            token: &token,
            http,
        };
        super::paged::list_all(&lister, pages).await
    }

    async fn head_commit(
        &self,
        scope: &InstallationId,
        _credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        let token = self.installation_token(*scope, http).await?;
        refresh::head_commit(self, &token, http, repo).await
    }
}
