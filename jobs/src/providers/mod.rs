//! One folder per provider (`github/`, `gitlab/`, `bitbucket/`, `azure/`), each holding its
//! scope type, live check, listing and head-commit refresh behind [`ProviderClient`]. Adding a
//! provider means a new folder and its registration: a [`Scope`] variant (with its arm in
//! `each_scope!` and `Scope::from_row`), a field of [`Providers`] built in [`Providers::new`],
//! and its arm in `each_client!`; the compiler lists every place a variant is missing.

pub mod azure;
pub mod bitbucket;
pub mod github;
pub mod gitlab;
mod head_commit;
mod paged;
mod repository;
mod scope;

pub use azure::AzureDevOps;
pub use bitbucket::Bitbucket;
pub use github::{GitHub, GitHubApp, GitHubAppCredentials, InvalidAppKey};
pub use gitlab::GitLab;
pub use head_commit::{HeadCommit, RepoRef};
pub use repository::{PageSink, RemoteRepository};
pub use scope::{Scope, UnreadableScope};

use crate::check::CheckError;
use crate::endpoints::Endpoints;
use crate::http::{FetchError, FetchPolicy, Fetcher, HttpClients, RateBudget, budget_key};
use crate::scope::{AccessToken, AccountEmail, ProviderScope};
use secrecy::ExposeSecret;
use std::future::Future;
use std::sync::Arc;

/// The secret a provider call authenticates with.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The token (a provider PAT/access token, or the user's OAuth token for GitHub).
    pub token: AccessToken,
    /// For Bitbucket API tokens: the Atlassian account email (HTTP Basic).
    pub email: Option<AccountEmail>,
}

/// A scope that passed its live check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedScope {
    /// A default name for the connection (the provider's own display name).
    pub display_name: String,
}

/// A provider's client. Every request goes through the [`Fetcher`] it is handed.
pub trait ProviderClient: Send + Sync {
    /// The scope type this provider covers.
    type Scope: ProviderScope + Send + Sync;

    /// Checks that `credential` can read `scope`, before anything is saved.
    fn check(
        &self,
        scope: &Self::Scope,
        credential: &Credential,
        http: &Fetcher,
    ) -> impl Future<Output = Result<ValidatedScope, CheckError>> + Send;

    /// Lists every repository of `scope` into `pages`, a page at a time.
    /// `Ok` means the whole scope was listed: only then may missing repositories be marked gone.
    fn list(
        &self,
        scope: &Self::Scope,
        credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> impl Future<Output = Result<(), FetchError>> + Send;

    /// The head commit of `repo`'s default branch, conditional on its last ETag.
    fn head_commit(
        &self,
        scope: &Self::Scope,
        credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> impl Future<Output = Result<HeadCommit, FetchError>> + Send;
}

/// Every provider client, built once and shared, and the budgets their requests draw on.
#[derive(Clone)]
pub struct Providers {
    github: GitHub,
    gitlab: GitLab,
    bitbucket: Bitbucket,
    azure: AzureDevOps,
    endpoints: Endpoints,
    budget: Arc<dyn RateBudget>,
}

/// Runs `$body` with `$client` bound to the client of `$scope`'s provider and `$s` to the
/// provider's own scope: the one place a new provider registers its client.
macro_rules! each_client {
    ($providers:expr, $scope:expr, |$client:ident, $s:ident| $body:expr) => {
        match $scope {
            Scope::Github($s) => {
                let $client = &$providers.github;
                $body
            }
            Scope::Gitlab($s) => {
                let $client = &$providers.gitlab;
                $body
            }
            Scope::Bitbucket($s) => {
                let $client = &$providers.bitbucket;
                $body
            }
            Scope::AzureDevops($s) => {
                let $client = &$providers.azure;
                $body
            }
        }
    };
}

impl Providers {
    /// Builds the clients over shared HTTP clients and endpoints; `github_app` lets GitHub
    /// installations be listed; `budget` is shared by every request to one host with one
    /// credential.
    pub fn new(
        clients: HttpClients,
        endpoints: Endpoints,
        github_app: Option<Arc<GitHubApp>>,
        budget: Arc<dyn RateBudget>,
    ) -> Self {
        Self {
            github: GitHub::new(clients.clone(), &endpoints, github_app),
            gitlab: GitLab::new(clients.clone(), &endpoints),
            bitbucket: Bitbucket::new(clients.clone(), &endpoints),
            azure: AzureDevOps::new(clients, &endpoints),
            endpoints,
            budget,
        }
    }

    /// GitHub's client (the web flows use it directly).
    pub fn github(&self) -> &GitHub {
        &self.github
    }

    /// The endpoints the clients use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A fetcher for requests to `host` under `credential`, its rate-limit budget shared with
    /// every other request of that credential on that host.
    pub fn fetcher(
        &self,
        host: &str,
        credential: Option<&Credential>,
        policy: FetchPolicy,
    ) -> Fetcher {
        let secret = credential
            .map(|c| c.token.secret().expose_secret())
            .unwrap_or_default();
        Fetcher::new(
            self.budget.clone(),
            budget_key(host, secret),
            host.to_owned(),
            policy,
        )
    }

    /// The live check of `scope` with `credential`.
    pub async fn check(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        let host = scope.identity(&self.endpoints).host;
        let http = self.fetcher(&host, Some(credential), FetchPolicy::check());
        each_client!(self, scope, |client, s| client
            .check(s, credential, &http)
            .await)
    }

    /// Lists `scope` into `pages`.
    pub async fn list(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        each_client!(self, scope, |client, s| client
            .list(s, credential, http, pages)
            .await)
    }

    /// The head commit of `repo` in `scope`.
    pub async fn head_commit(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        each_client!(self, scope, |client, s| client
            .head_commit(s, credential, http, repo)
            .await)
    }
}

/// A path segment percent-encoded (branch names may hold `/`).
pub(crate) fn segment(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The stored credential a listing or refresh needs.
pub(crate) fn required(credential: Option<&Credential>) -> Result<&Credential, FetchError> {
    credential
        .ok_or_else(|| FetchError::Unauthorized("the connection has no stored credential".into()))
}
