//! Bitbucket Cloud: workspace/project/repository access tokens (Bearer), or an Atlassian API
//! token with its account email (Basic). App passwords stopped working in June 2026.

mod check;
mod listing;
mod refresh;
mod scope;

pub use scope::WorkspaceId;

use super::{Credential, PageSink, ProviderClient, ValidatedScope, required};
use super::{HeadCommit, RepoRef};
use crate::check::CheckError;
use crate::endpoints::Endpoints;
use crate::http::{FetchError, Fetcher, HttpClients};
use reqwest::RequestBuilder;
use secrecy::ExposeSecret;
use url::Url;

/// Bitbucket Cloud's client.
#[derive(Clone)]
pub struct Bitbucket {
    clients: HttpClients,
    api: Url,
}

impl Bitbucket {
    /// Builds the client against `endpoints.bitbucket_api`.
    pub fn new(clients: HttpClients, endpoints: &Endpoints) -> Self {
        Self {
            clients,
            api: endpoints.bitbucket_api.clone(),
        }
    }

    /// `{api}/2.0/{path}`.
    fn url(&self, path: &str) -> String {
        format!("{}/2.0/{path}", self.api.as_str().trim_end_matches('/'))
    }

    /// A GET of `url` with the credential: Basic with the account email for API tokens,
    /// Bearer for access tokens.
    fn get(&self, url: &str, credential: &Credential) -> RequestBuilder {
        let request = self.clients.trusted().get(url);
        let token = credential.token.secret().expose_secret();
        match &credential.email {
            Some(email) => request.basic_auth(email.as_str(), Some(token)),
            None => request.bearer_auth(token),
        }
    }
}

impl ProviderClient for Bitbucket {
    type Scope = WorkspaceId;

    async fn check(
        &self,
        scope: &WorkspaceId,
        credential: &Credential,
        http: &Fetcher,
    ) -> Result<ValidatedScope, CheckError> {
        check::run(self, scope, credential, http).await
    }

    async fn list(
        &self,
        scope: &WorkspaceId,
        credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let lister = listing::WorkspaceLister {
            bitbucket: self,
            workspace: scope,
            credential: required(credential)?,
            http,
        };
        super::paged::list_all(&lister, pages).await
    }

    async fn head_commit(
        &self,
        _scope: &WorkspaceId,
        credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        refresh::head_commit(self, required(credential)?, http, repo).await
    }
}
