//! Azure DevOps Services (`dev.azure.com`, `*.visualstudio.com`) and Server (on-prem collections):
//! personal access tokens sent as HTTP Basic with an empty user name.

use super::http::{body, host_label, send, unexpected};
use super::segment;
use super::{Credential, Endpoints, ProviderClient, ValidatedScope, required, wrong_scope};
use crate::fetch::{FetchError, Fetcher};
use crate::listing::PageSink;
use crate::refresh::{HeadCommit, RepoRef, conditional_sha};
use crate::scope::AzureHosting;
use crate::{CheckError, HttpClients, OrganizationUrl, Scope};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

#[path = "azure_listing.rs"]
mod listing;

/// Azure DevOps Services' current REST version.
const CLOUD_API_VERSION: &str = "7.1";
/// The newest version every supported Azure DevOps Server (2019 and later) accepts.
const SERVER_API_VERSION: &str = "5.0";

/// Azure DevOps' client.
#[derive(Clone)]
pub struct AzureDevOps {
    clients: HttpClients,
    cloud_override: Option<Url>,
}

/// The REST version a cloud organization or an on-premises server accepts.
fn api_version(org: &OrganizationUrl) -> &'static str {
    match org.hosting() {
        AzureHosting::Server => SERVER_API_VERSION,
        _ => CLOUD_API_VERSION,
    }
}

/// Azure answers a bad PAT with 401, or with 203 and an HTML sign-in page.
fn is_sign_in_page(response: &Response) -> bool {
    response.status() == StatusCode::NON_AUTHORITATIVE_INFORMATION
        || response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"))
}

impl AzureDevOps {
    /// Builds the client; `endpoints.azure_devops` redirects cloud organizations (tests).
    pub fn new(clients: HttpClients, endpoints: &Endpoints) -> Self {
        Self {
            clients,
            cloud_override: endpoints.azure_devops.clone(),
        }
    }

    /// Where requests for `org` go, and whether that URL came from the user.
    fn base(&self, org: &OrganizationUrl) -> (String, bool) {
        match (org.hosting(), &self.cloud_override) {
            (AzureHosting::Server, _) => (org.as_str().to_owned(), true),
            (_, Some(url)) => (
                format!(
                    "{}/{}",
                    url.as_str().trim_end_matches('/'),
                    org.organization()
                ),
                false,
            ),
            (_, None) => (org.as_str().to_owned(), false),
        }
    }

    async fn check(
        &self,
        org: &OrganizationUrl,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        let (base, user_supplied) = self.base(org);
        let client = if user_supplied {
            self.clients.vet(org.url(), "organizationUrl").await?;
            self.clients.guarded()
        } else {
            self.clients.trusted()
        };
        let host = host_label(org.url());
        let pat = credential.token.secret().expose_secret();
        let get = |path: &str| {
            client
                .get(format!("{base}/_apis/{path}"))
                .basic_auth("", Some(pat))
                .header(reqwest::header::ACCEPT, "application/json")
        };

        // connectionData answers any valid PAT whatever its scopes: it separates a bad token
        // from a token that lacks scopes.
        let response = send(get("connectionData"), &host).await?;
        if is_sign_in_page(&response) || response.status() == StatusCode::UNAUTHORIZED {
            let text = String::from_utf8_lossy(&body(response, &host).await.unwrap_or_default())
                .to_ascii_lowercase();
            return Err(if text.contains("expired") {
                CheckError::TokenExpired(format!(
                    "the personal access token has expired for {host}"
                ))
            } else {
                CheckError::InvalidToken(format!(
                    "{host} does not accept this personal access token"
                ))
            });
        }
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                return Err(CheckError::ScopeNotFound(format!(
                    "organization {:?} was not found at {}",
                    org.organization(),
                    org.as_str()
                )));
            }
            _ => return Err(unexpected(&host, &response)),
        }

        let api_version = api_version(org);
        let checks = [
            (
                format!("projects?api-version={api_version}&$top=1"),
                "vso.project",
            ),
            (
                format!("git/repositories?api-version={api_version}"),
                "vso.code",
            ),
        ];
        for (path, scope) in checks {
            let response = send(get(&path), &host).await?;
            match response.status() {
                StatusCode::OK if !is_sign_in_page(&response) => {}
                StatusCode::OK
                | StatusCode::NON_AUTHORITATIVE_INFORMATION
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN => {
                    return Err(CheckError::InsufficientScope {
                        missing: vec![scope.to_owned()],
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(CheckError::ScopeNotFound(format!(
                        "organization {:?} was not found at {}",
                        org.organization(),
                        org.as_str()
                    )));
                }
                _ => return Err(unexpected(&host, &response)),
            }
        }

        Ok(ValidatedScope {
            display_name: org.organization().to_owned(),
        })
    }
}

#[async_trait::async_trait]
impl ProviderClient for AzureDevOps {
    async fn validate(
        &self,
        scope: &Scope,
        credential: &Credential,
    ) -> Result<ValidatedScope, CheckError> {
        match scope {
            Scope::AzureOrganization(org) => self.check(org, credential).await,
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
        let Scope::AzureOrganization(org) = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let credential = required(credential)?;
        let (base, user_supplied) = self.base(org);
        let lister = listing::OrganizationLister {
            client: if user_supplied {
                self.clients.guarded()
            } else {
                self.clients.trusted()
            },
            base: &base,
            api_version: api_version(org),
            pat: credential.token.secret().expose_secret(),
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
        let Scope::AzureOrganization(org) = scope else {
            return Err(FetchError::Protocol(
                "scope sent to the wrong provider".into(),
            ));
        };
        let credential = required(credential)?;
        let (base, user_supplied) = self.base(org);
        let client = if user_supplied {
            self.clients.guarded()
        } else {
            self.clients.trusted()
        };
        let project = repo.full_name.split('/').next().unwrap_or_default();
        let api_version = api_version(org);
        let request = client
            .get(format!(
                "{base}/{}/_apis/git/repositories/{}/refs?filter=heads/{}&api-version={api_version}",
                segment(project),
                repo.external_id,
                segment(repo.default_branch)
            ))
            .basic_auth("", Some(credential.token.secret().expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json");
        conditional_sha(fetcher, request, repo.etag, "/value/0/objectId").await
    }
}
