//! The live check of an Azure DevOps organization: the PAT is accepted, and can read projects
//! (`vso.project`) and code (`vso.code`).

use super::{AzureDevOps, OrganizationUrl, api_version, is_sign_in_page};
use crate::check::CheckError;
use crate::http::Fetcher;
use crate::providers::{Credential, ValidatedScope};
use reqwest::StatusCode;

/// Runs the check.
pub(super) async fn run(
    azure: &AzureDevOps,
    org: &OrganizationUrl,
    credential: &Credential,
    http: &Fetcher,
) -> Result<ValidatedScope, CheckError> {
    let endpoint = azure.endpoint(org);
    if endpoint.user_supplied {
        azure.clients.vet(org.url(), "organizationUrl").await?;
    }
    let host = http.host();
    let get = |path: &str| endpoint.get(&format!("{}/_apis/{path}", endpoint.base), credential);
    let not_found = || {
        CheckError::ScopeNotFound(format!(
            "organization {:?} was not found at {}",
            org.organization(),
            org.as_str()
        ))
    };

    // connectionData answers any valid PAT whatever its scopes: it separates a bad token
    // from a token that lacks scopes.
    let response = http.response(get("connectionData")).await?;
    if is_sign_in_page(&response) || response.status() == StatusCode::UNAUTHORIZED {
        let body = http.body(response).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body).to_ascii_lowercase();
        return Err(if text.contains("expired") {
            CheckError::TokenExpired(format!("the personal access token has expired for {host}"))
        } else {
            CheckError::InvalidToken(format!("{host} does not accept this personal access token"))
        });
    }
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(not_found()),
        status => return Err(CheckError::unexpected_status(host, status)),
    }

    let api_version = api_version(org);
    let reads = [
        (
            format!("projects?api-version={api_version}&$top=1"),
            "vso.project",
        ),
        (
            format!("git/repositories?api-version={api_version}"),
            "vso.code",
        ),
    ];
    for (path, scope) in reads {
        let response = http.response(get(&path)).await?;
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
            StatusCode::NOT_FOUND => return Err(not_found()),
            status => return Err(CheckError::unexpected_status(host, status)),
        }
    }

    Ok(ValidatedScope {
        display_name: org.organization().to_owned(),
    })
}
