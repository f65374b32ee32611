//! One module per provider, each implementing [`ProviderClient`]. Adding a provider means a new
//! module, a [`Scope`] variant and one line in [`Providers::for_scope`].

mod azure;
mod bitbucket;
mod github;
mod github_app;
mod gitlab;
mod http;

pub use azure::AzureDevOps;
pub use bitbucket::Bitbucket;
pub use github::GitHub;
pub use github_app::{GitHubApp, GitHubAppCredentials};
pub use gitlab::GitLab;

use crate::fetch::{FetchError, Fetcher};
use crate::listing::{PageSink, RemoteRepository};
use crate::refresh::{HeadCommit, RepoRef};
use crate::{AccessToken, AccountEmail, CheckError, HttpClients, Scope};
use url::Url;

/// The provider endpoints an operator configured (overridable for tests and the fake code host).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// GitHub's REST API, `https://api.github.com`.
    pub github_api: Url,
    /// GitHub's web host, `https://github.com` (identifies GitHub repositories).
    pub github_web: Url,
    /// The default GitLab instance, `https://gitlab.com`.
    pub gitlab: Url,
    /// Bitbucket Cloud's API, `https://api.bitbucket.org`.
    pub bitbucket_api: Url,
    /// Where requests for `dev.azure.com/{org}` and `{org}.visualstudio.com` go instead
    /// (`{url}/{org}`); `None` sends them to Azure DevOps itself.
    pub azure_devops: Option<Url>,
}

impl Default for Endpoints {
    fn default() -> Self {
        let parse = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!("constant URL {s}"));
        Self {
            github_api: parse("https://api.github.com"),
            github_web: parse("https://github.com"),
            gitlab: parse("https://gitlab.com"),
            bitbucket_api: parse("https://api.bitbucket.org"),
            azure_devops: None,
        }
    }
}

/// The secret a live check authenticates with.
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

/// A provider's client.
#[async_trait::async_trait]
pub trait ProviderClient: Send + Sync {
    /// Checks that `credential` can read `scope`, before anything is saved.
    async fn validate(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError>;

    /// Lists every repository of `scope` into `pages`, a page at a time, through `fetcher`.
    /// `Ok` means the whole scope was listed: only then may missing repositories be marked gone.
    async fn list(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError>;

    /// The head commit of `repo`'s default branch, conditional on its last ETag.
    async fn head_commit(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError>;
}

/// A path segment percent-encoded (branch names may hold `/`).
pub(crate) fn segment(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Hands a page to the discovery job; a closed sink means the job stopped listening.
pub(crate) async fn deliver(
    pages: &PageSink,
    page: Vec<RemoteRepository>,
) -> Result<(), FetchError> {
    if page.is_empty() {
        return Ok(());
    }
    pages
        .send(page)
        .await
        .map_err(|_| FetchError::Protocol("the discovery job stopped reading pages".into()))
}

/// The credential a listing needs, or a refusal naming the scope.
pub(crate) fn required(credential: Option<&Credential>) -> Result<&Credential, FetchError> {
    credential
        .ok_or_else(|| FetchError::Unauthorized("the connection has no stored credential".into()))
}

/// Every provider client, built once and shared.
#[derive(Clone)]
pub struct Providers {
    github: GitHub,
    gitlab: GitLab,
    bitbucket: Bitbucket,
    azure: AzureDevOps,
}

impl Providers {
    /// Builds the clients over shared HTTP clients and endpoints; `github_app` lets GitHub
    /// installations be listed.
    pub fn new(
        clients: HttpClients,
        endpoints: Endpoints,
        github_app: Option<std::sync::Arc<GitHubApp>>,
    ) -> Self {
        Self {
            github: GitHub::new(clients.clone(), &endpoints, github_app),
            gitlab: GitLab::new(clients.clone(), &endpoints),
            bitbucket: Bitbucket::new(clients.clone(), &endpoints),
            azure: AzureDevOps::new(clients, &endpoints),
        }
    }

    /// The client responsible for `scope`.
    pub fn for_scope(&self, scope: &Scope) -> &dyn ProviderClient {
        match scope {
            Scope::GithubInstallation(_) => &self.github,
            Scope::GitlabGroup { .. } => &self.gitlab,
            Scope::BitbucketWorkspace(_) => &self.bitbucket,
            Scope::AzureOrganization(_) => &self.azure,
        }
    }
}

fn wrong_scope() -> CheckError {
    CheckError::Unreachable("internal routing error: scope sent to the wrong provider".into())
}
