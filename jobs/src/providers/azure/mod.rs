//! Azure DevOps Services (`dev.azure.com`, `*.visualstudio.com`) and Server (on-prem collections):
//! personal access tokens sent as HTTP Basic with an empty user name.

mod check;
mod listing;
mod refresh;
mod scope;

pub use scope::{AzureHosting, OrganizationUrl};

use super::{Credential, PageSink, ProviderClient, ValidatedScope, required};
use super::{HeadCommit, RepoRef};
use crate::check::CheckError;
use crate::endpoints::Endpoints;
use crate::http::{FetchError, Fetcher, HttpClients};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use url::Url;

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

/// Where one organization's requests go, and with which client.
struct Endpoint<'a> {
    base: String,
    client: &'a reqwest::Client,
    /// The URL came from the user (an Azure DevOps Server): SSRF-guarded.
    user_supplied: bool,
}

impl AzureDevOps {
    /// Builds the client; `endpoints.azure_devops` redirects cloud organizations (tests).
    pub fn new(clients: HttpClients, endpoints: &Endpoints) -> Self {
        Self {
            clients,
            cloud_override: endpoints.azure_devops.clone(),
        }
    }

    fn endpoint(&self, org: &OrganizationUrl) -> Endpoint<'_> {
        let (base, user_supplied) = match (org.hosting(), &self.cloud_override) {
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
        };
        let client = if user_supplied {
            self.clients.guarded()
        } else {
            self.clients.trusted()
        };
        Endpoint {
            base,
            client,
            user_supplied,
        }
    }
}

impl Endpoint<'_> {
    /// A GET of `url` with the PAT, asking for JSON.
    fn get(&self, url: &str, credential: &Credential) -> RequestBuilder {
        self.client
            .get(url)
            .basic_auth("", Some(credential.token.secret().expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
    }
}

impl ProviderClient for AzureDevOps {
    type Scope = OrganizationUrl;

    async fn check(
        &self,
        scope: &OrganizationUrl,
        credential: &Credential,
        http: &Fetcher,
    ) -> Result<ValidatedScope, CheckError> {
        check::run(self, scope, credential, http).await
    }

    async fn list(
        &self,
        scope: &OrganizationUrl,
        credential: Option<&Credential>,
        http: &Fetcher,
        pages: &PageSink,
    ) -> Result<(), FetchError> {
        let lister = listing::OrganizationLister {
            endpoint: self.endpoint(scope),
            api_version: api_version(scope),
            credential: required(credential)?,
            http,
        };
        lister.run(pages).await
    }

    async fn head_commit(
        &self,
        scope: &OrganizationUrl,
        credential: Option<&Credential>,
        http: &Fetcher,
        repo: RepoRef<'_>,
    ) -> Result<HeadCommit, FetchError> {
        refresh::head_commit(self, scope, required(credential)?, http, repo).await
    }
}
