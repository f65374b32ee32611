//! The live check of a GitLab group: the token introspects itself (active, not revoked, not
//! expired, scopes), the group is visible, and the token's user is Reporter or higher on it.

use super::{GitLab, GitlabGroup};
use crate::check::CheckError;
use crate::http::Fetcher;
use crate::providers::{Credential, ValidatedScope, segment};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde::Deserialize;

/// The role GitLab calls Reporter; anything lower cannot read repositories.
const REPORTER: u32 = 20;
const REQUIRED_SCOPES: [&str; 2] = ["read_api", "read_repository"];

#[derive(Deserialize)]
struct TokenSelf {
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    revoked: bool,
    expires_at: Option<NaiveDate>,
    user_id: Option<u64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Group {
    id: u64,
    full_path: String,
    #[serde(default)]
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    access_level: u32,
}

/// Scopes that grant what `required` grants: GitLab maps `api` to every ability (repository
/// download included), and `write_repository` includes reading.
fn satisfied_by(required: &str, granted: &[String]) -> bool {
    granted.iter().any(|g| {
        g == required || g == "api" || (required == "read_repository" && g == "write_repository")
    })
}

fn role_name(level: u32) -> &'static str {
    match level {
        0 => "no membership",
        5 => "Minimal Access",
        10 => "Guest",
        15 => "Planner",
        20 => "Reporter",
        30 => "Developer",
        40 => "Maintainer",
        _ => "Owner",
    }
}

/// Runs the check.
pub(super) async fn run(
    gitlab: &GitLab,
    scope: &GitlabGroup,
    credential: &Credential,
    http: &Fetcher,
) -> Result<ValidatedScope, CheckError> {
    let instance = scope.instance.as_ref();
    if let Some(url) = instance {
        gitlab.clients.vet(url.url(), "instanceUrl").await?;
    }
    let host = http.host();
    let get = |path: &str| gitlab.get(instance, path, credential);

    let response = http.response(get("personal_access_tokens/self")).await?;
    let me: TokenSelf = match response.status() {
        StatusCode::OK => http.read_json(response).await?,
        StatusCode::UNAUTHORIZED => {
            let body = http.error_json(response).await;
            let description = body["error_description"]
                .as_str()
                .or(body["message"].as_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            return Err(if description.contains("expired") {
                CheckError::TokenExpired(format!("the token has expired on {host}"))
            } else if description.contains("revoked") {
                CheckError::InvalidToken(format!("the token was revoked on {host}"))
            } else {
                CheckError::InvalidToken(format!("{host} does not accept this token"))
            });
        }
        // 400: an OAuth or CI job token, which cannot introspect itself.
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
            return Err(CheckError::InvalidToken(format!(
                "{host} does not accept this kind of token: use a personal, group, project or \
                 service-account access token"
            )));
        }
        StatusCode::NOT_FOUND => {
            return Err(CheckError::Unreachable(format!(
                "{host} has no token introspection endpoint (GitLab 15.5 or newer is required)"
            )));
        }
        status => return Err(CheckError::unexpected_status(host, status)),
    };
    if me.revoked {
        return Err(CheckError::InvalidToken(format!(
            "the token was revoked on {host}"
        )));
    }
    let today = chrono::Utc::now().date_naive();
    if me.expires_at.is_some_and(|d| d <= today) {
        return Err(CheckError::TokenExpired(format!(
            "the token expired on {}",
            me.expires_at.map(|d| d.to_string()).unwrap_or_default()
        )));
    }
    if !me.active {
        return Err(CheckError::InvalidToken(format!(
            "the token is not active on {host}"
        )));
    }
    let missing: Vec<String> = REQUIRED_SCOPES
        .iter()
        .filter(|s| !satisfied_by(s, &me.scopes))
        .map(|s| (*s).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(CheckError::InsufficientScope { missing });
    }

    let group = scope.group.as_str();
    let encoded = segment(group);
    let response = http
        .response(get(&format!("groups/{encoded}?with_projects=false")))
        .await?;
    let found: Group = match response.status() {
        StatusCode::OK => http.read_json(response).await?,
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
            return Err(CheckError::ScopeNotFound(format!(
                "group {group:?} was not found on {host}, or the token cannot see it"
            )));
        }
        StatusCode::UNAUTHORIZED => {
            return Err(CheckError::InvalidToken(format!(
                "{host} does not accept this token"
            )));
        }
        status => return Err(CheckError::unexpected_status(host, status)),
    };

    let user = me.user_id.ok_or_else(|| {
        CheckError::Unreachable(format!("{host} did not say which user owns the token"))
    })?;
    let response = http
        .response(get(&format!("groups/{}/members/all/{user}", found.id)))
        .await?;
    let level = match response.status() {
        StatusCode::OK => http.read_json::<Member>(response).await?.access_level,
        StatusCode::NOT_FOUND => 0,
        status => return Err(CheckError::unexpected_status(host, status)),
    };
    if level < REPORTER {
        return Err(CheckError::InsufficientRole(format!(
            "the token's user needs the Reporter role or higher on {:?} (has {})",
            found.full_path,
            role_name(level)
        )));
    }

    Ok(ValidatedScope {
        display_name: found.full_name.unwrap_or_else(|| found.full_path.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broader_scopes_satisfy_narrower_ones() {
        let granted = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(satisfied_by("read_api", &granted(&["api"])));
        assert!(satisfied_by(
            "read_repository",
            &granted(&["write_repository"])
        ));
        assert!(satisfied_by("read_repository", &granted(&["api"])));
        assert!(!satisfied_by("read_repository", &granted(&["read_api"])));
        assert!(!satisfied_by("read_api", &granted(&["read_user"])));
    }
}
