//! The live check of a GitHub App installation, with the user's linked-account token: the
//! installation is among those visible to the user, not suspended, and grants contents and
//! metadata read.

use super::{GitHub, InstallationId};
use crate::check::CheckError;
use crate::http::{Fetcher, next_link};
use crate::providers::{Credential, ValidatedScope};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::collections::HashMap;

/// Upper bound on pages of `/user/installations` (100 per page).
const MAX_PAGES: usize = 50;

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

fn grants_read(permissions: &HashMap<String, String>, name: &str) -> bool {
    matches!(
        permissions.get(name).map(String::as_str),
        Some("read" | "write" | "admin")
    )
}

/// Finds `id` among the installations the user can see, following `Link` pages on the API's
/// own origin only.
async fn find(
    github: &GitHub,
    id: InstallationId,
    credential: &Credential,
    http: &Fetcher,
) -> Result<Installation, CheckError> {
    let host = http.host();
    let token = credential.token.secret().expose_secret();
    let origin = github.api.origin();
    let mut next = Some(format!("{}/user/installations?per_page=100", github.api()));
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        let response = http
            .response(github.request(reqwest::Method::GET, &url, token))
            .await?;
        match response.status() {
            StatusCode::OK => {}
            // 403: not a GitHub App user token (only those may list installations).
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(CheckError::InvalidToken(
                    "GitHub no longer accepts your linked account; link your GitHub account again"
                        .into(),
                ));
            }
            status => return Err(CheckError::unexpected_status(host, status)),
        }
        next = next_link(response.headers())
            .filter(|link| url::Url::parse(link).is_ok_and(|u| u.origin() == origin))
            .filter(|_| pages < MAX_PAGES);
        let page: Installations = http.read_json(response).await?;
        if let Some(found) = page.installations.into_iter().find(|i| i.id == id.get()) {
            return Ok(found);
        }
    }
    Err(CheckError::ScopeNotFound(format!(
        "installation {} of the Tether GitHub App is not visible to your linked GitHub account",
        id.get()
    )))
}

/// Runs the check.
pub(super) async fn run(
    github: &GitHub,
    id: InstallationId,
    credential: &Credential,
    http: &Fetcher,
) -> Result<ValidatedScope, CheckError> {
    let installation = find(github, id, credential, http).await?;
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
