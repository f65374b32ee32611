//! Bitbucket Cloud: workspace/project/repository access tokens (Bearer), or an Atlassian API
//! token with its account email (Basic). App passwords stopped working in June 2026.

use super::http::{error_json, host_label, send, unexpected};
use super::segment;
use super::{Credential, Endpoints, ProviderClient, ValidatedScope, required, wrong_scope};
use crate::fetch::{FetchError, Fetcher};
use crate::listing::PageSink;
use crate::refresh::{HeadCommit, RepoRef, conditional_sha};
use crate::{CheckError, Scope, WorkspaceId};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

#[path = "bitbucket_listing.rs"]
mod listing;

/// Bitbucket Cloud's client.
#[derive(Clone)]
pub struct Bitbucket {
    clients: crate::HttpClients,
    api: Url,
}

/// The two reads a connection needs, each with the scope name the credential kind uses.
#[derive(Clone, Copy)]
enum Need {
    Repositories,
    Projects,
}

impl Need {
    fn scope(self, basic: bool) -> &'static str {
        match (self, basic) {
            (Need::Repositories, false) => "repository",
            (Need::Projects, false) => "project",
            (Need::Repositories, true) => "read:repository:bitbucket",
            (Need::Projects, true) => "read:project:bitbucket",
        }
    }
}

impl Bitbucket {
    /// Builds the client against `endpoints.bitbucket_api`.
    pub fn new(clients: crate::HttpClients, endpoints: &Endpoints) -> Self {
        Self {
            clients,
            api: endpoints.bitbucket_api.clone(),
        }
    }

    pub(super) fn authorize(
        &self,
        request: RequestBuilder,
        credential: &Credential,
    ) -> RequestBuilder {
        let token = credential.token.secret().expose_secret();
        match &credential.email {
            Some(email) => request.basic_auth(email.as_str(), Some(token)),
            None => request.bearer_auth(token),
        }
    }

    async fn probe(
        &self,
        workspace: &WorkspaceId,
        credential: &Credential,
        path: String,
        need: Need,
    ) -> Result<(), CheckError> {
        let host = host_label(&self.api);
        let base = self.api.as_str().trim_end_matches('/');
        let request = self.clients.trusted().get(format!("{base}/2.0/{path}"));
        let response = send(self.authorize(request, credential), &host).await?;
        let basic = credential.email.is_some();
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => {
                let body = error_json(response, &host).await;
                let message = body["error"]["message"].as_str().unwrap_or_default();
                Err(
                    if message.to_ascii_lowercase().contains("expired")
                        && !message.contains("invalid")
                    {
                        CheckError::TokenExpired("the Bitbucket token has expired".into())
                    } else if basic {
                        CheckError::InvalidToken(
                        "Bitbucket does not accept this email and API token (app passwords no longer work)".into(),
                    )
                    } else {
                        CheckError::InvalidToken(
                            "Bitbucket does not accept this access token".into(),
                        )
                    },
                )
            }
            StatusCode::FORBIDDEN => {
                let body = error_json(response, &host).await;
                let required: Vec<String> = body["error"]["detail"]["required"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let missing = if required.is_empty() {
                    vec![need.scope(basic).to_owned()]
                } else {
                    required
                };
                Err(CheckError::InsufficientScope { missing })
            }
            StatusCode::NOT_FOUND => Err(CheckError::ScopeNotFound(format!(
                "workspace {:?} was not found on Bitbucket, or the token cannot see it",
                workspace.as_str()
            ))),
            _ => Err(unexpected(&host, &response)),
        }
    }
}

#[async_trait::async_trait]
impl ProviderClient for Bitbucket {
    async fn validate(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        let Scope::BitbucketWorkspace(workspace) = scope else {
            return Err(wrong_scope());
        };
        let ws = workspace.as_str();
        self.probe(
            workspace,
            credential,
            format!("repositories/{ws}?pagelen=1"),
            Need::Repositories,
        )
        .await?;
        self.probe(
            workspace,
            credential,
            format!("workspaces/{ws}/projects?pagelen=1"),
            Need::Projects,
        )
        .await?;
        Ok(ValidatedScope {
            display_name: ws.to_owned(),
        })
    }

    async fn list(
        &self,
        scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let Scope::BitbucketWorkspace(workspace) = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let credential = required(credential)?;
        let lister = listing::WorkspaceLister {
            bitbucket: self,
            workspace: workspace.as_str(),
            credential,
            fetcher,
        };
        lister.run(pages).await
    }

    async fn head_commit(
        &self,
        _scope: &Scope,
        credential: Option<&Credential>,
        fetcher: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        let credential = required(credential)?;
        // full_name is `workspace/slug`; both parts are URL-safe slugs.
        let url = format!(
            "{}/2.0/repositories/{}/refs/branches/{}",
            self.api.as_str().trim_end_matches('/'),
            repo.full_name,
            segment(repo.default_branch)
        );
        let request = self.authorize(self.clients.trusted().get(url), credential);
        conditional_sha(fetcher, request, repo.etag, "/target/hash").await
    }
}
