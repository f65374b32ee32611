//! The live check of a Bitbucket workspace: the credential can read its repositories and its
//! projects.

use super::{Bitbucket, WorkspaceId};
use crate::check::CheckError;
use crate::http::Fetcher;
use crate::providers::{Credential, ValidatedScope};
use reqwest::StatusCode;

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

/// One read, its refusal turned into what the user must fix.
async fn probe(
    bitbucket: &Bitbucket,
    workspace: &WorkspaceId,
    credential: &Credential,
    http: &Fetcher,
    path: String,
    need: Need,
) -> Result<(), CheckError> {
    let request = bitbucket.get(&bitbucket.url(&path), credential);
    let response = http.response(request).await?;
    let basic = credential.email.is_some();
    match response.status() {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED => {
            let body = http.error_json(response).await;
            let message = body["error"]["message"].as_str().unwrap_or_default();
            Err(
                if message.to_ascii_lowercase().contains("expired") && !message.contains("invalid")
                {
                    CheckError::TokenExpired("the Bitbucket token has expired".into())
                } else if basic {
                    CheckError::InvalidToken(
                        "Bitbucket does not accept this email and API token (app passwords no \
                         longer work)"
                            .into(),
                    )
                } else {
                    CheckError::InvalidToken("Bitbucket does not accept this access token".into())
                },
            )
        }
        StatusCode::FORBIDDEN => {
            let body = http.error_json(response).await;
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
        status => Err(CheckError::unexpected_status(http.host(), status)),
    }
}

/// Runs the check.
pub(super) async fn run(
    bitbucket: &Bitbucket,
    workspace: &WorkspaceId,
    credential: &Credential,
    http: &Fetcher,
) -> Result<ValidatedScope, CheckError> {
    let ws = workspace.as_str();
    let reads = [
        (format!("repositories/{ws}?pagelen=1"), Need::Repositories),
        (
            format!("workspaces/{ws}/projects?pagelen=1"),
            Need::Projects,
        ),
    ];
    for (path, need) in reads {
        probe(bitbucket, workspace, credential, http, path, need).await?;
    }
    Ok(ValidatedScope {
        display_name: ws.to_owned(),
    })
}
