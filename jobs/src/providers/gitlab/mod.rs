//! GitLab (gitlab.com or self-managed): personal/group/service-account access tokens sent as
//! `PRIVATE-TOKEN`.

mod check;
mod listing;
mod refresh;
mod scope;

pub use scope::{GitlabGroup, GroupPath, InstanceUrl};

use super::{Credential, PageSink, ProviderClient, ValidatedScope, required};
use super::{HeadCommit, RepoRef};
use crate::check::CheckError;
use crate::endpoints::Endpoints;
use crate::http::{FetchError, Fetcher, HttpClients};
use secrecy::ExposeSecret;
use url::Url;

/// GitLab's client.
#[derive(Clone)]
pub struct GitLab {
    clients: HttpClients,
    default_instance: Url,
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

    /// A GET of `{instance}/api/v4/{path}` with the token.
    fn get(
        &self,
        instance: Option<&InstanceUrl>,
        path: &str,
        credential: &Credential,
    ) -> reqwest::RequestBuilder {
        let (base, client) = self.endpoint(instance);
        let request = client.get(format!("{base}/api/v4/{path}"));
        // Marked sensitive like reqwest's own auth headers, so no debug output shows it. A token
        // that is not a header value was refused by `AccessToken::parse`; sending none gets 401.
        match reqwest::header::HeaderValue::from_str(credential.token.secret().expose_secret()) {
            Ok(mut token) => {
                token.set_sensitive(true);
                request.header("PRIVATE-TOKEN", token)
            }
            Err(_) => request,
        }
    }
}

impl ProviderClient for GitLab {
    type Scope = GitlabGroup;

    async fn check(
        &self,
        scope: &GitlabGroup,
        credential: &Credential,
        http: &Fetcher,
    ) -> Result<ValidatedScope, CheckError> {
        check::run(self, scope, credential, http).await
    }

    async fn list(
        &self,
        scope: &GitlabGroup,
        credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let lister = listing::GroupLister {
            gitlab: self,
            scope,
            credential: required(credential)?,
            http,
        };
        super::paged::list_all(&lister, pages).await
    }

    async fn head_commit(
        &self,
        scope: &GitlabGroup,
        credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        refresh::head_commit(self, scope, required(credential)?, http, repo).await
    }
}
