//! The GitHub web flows a browser walks through: linking the user's GitHub account (OAuth web
//! flow) and installing the Tether GitHub App, including installations an organization owner
//! must approve. Each starts from a URL carrying a single-use state (`oauth_states`) and ends on
//! a Tether callback that needs no Authorization header: the state names the user.

use super::linked_accounts;
use super::oauth_states::{self, Purpose, StateRefused};
use crate::auth::Viewer;
use crate::config::github::{APP_NEEDS, INSTALL_NEEDS, LINK_NEEDS};
use crate::config::{GitHubSettings, OAuthClient};
use crate::graphql::errors::ApiError;
use crate::state::AppState;
use entities::oauth_state;
use jobs::providers::github::OAuthError;
use sea_orm::DbErr;
use url::Url;

/// Why a flow could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The server lacks settings the flow needs.
    #[error("GitHub is not configured on this server (missing: {})", .0.join(", "))]
    NotConfigured(Vec<&'static str>),
    /// The state is missing, forged, spent or another user's.
    #[error(transparent)]
    State(#[from] StateRefused),
    /// The caller may not do this.
    #[error("your role does not allow {0}")]
    Forbidden(&'static str),
    /// GitHub refused or failed; the message is for people.
    #[error("{0}")]
    GitHub(String),
    /// Ours (the cause is logged when it becomes a response).
    #[error("internal error")]
    Api(ApiError),
}

impl From<ApiError> for FlowError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<DbErr> for FlowError {
    fn from(err: DbErr) -> Self {
        Self::Api(err.into())
    }
}

/// What the OAuth flow needs configured.
pub(super) struct Configured<'a> {
    pub(super) oauth: &'a OAuthClient,
    pub(super) public: &'a Url,
    pub(super) frontend: &'a Url,
}

pub(super) fn configured<'a>(
    github: &'a GitHubSettings,
    slug: bool,
) -> Result<Configured<'a>, FlowError> {
    let missing = if slug {
        github.missing_of(&[LINK_NEEDS, APP_NEEDS, INSTALL_NEEDS])
    } else {
        github.missing_of(&[LINK_NEEDS])
    };
    match (&github.oauth, &github.public_url, &github.frontend_url) {
        (Some(oauth), Some(public), Some(frontend)) if missing.is_empty() => Ok(Configured {
            oauth,
            public,
            frontend,
        }),
        _ => Err(FlowError::NotConfigured(missing)),
    }
}

/// `{public}/{path}`, keeping a public URL's own path prefix.
fn under(public: &Url, path: &str) -> Url {
    let mut url = public.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}/{path}"));
    url
}

/// Where GitHub sends the browser back after authorizing.
pub fn callback_url(public: &Url) -> Url {
    under(public, "auth/github/callback")
}

/// Where GitHub sends the browser after installing (the app's Setup URL).
pub fn setup_url(public: &Url) -> Url {
    under(public, "github/setup")
}

/// Where GitHub delivers webhooks.
pub fn webhook_url(public: &Url) -> Url {
    under(public, "webhooks/github")
}

/// The GitHub App manifest for GitHub's manifest flow (`tether github-app manifest`): where
/// GitHub sends browsers and webhooks, the permissions Tether needs, the events it acts on.
/// `installation` and `installation_repositories` reach every app without subscribing.
pub fn manifest(github: &GitHubSettings, name: &str) -> Result<serde_json::Value, FlowError> {
    let public = github
        .public_url
        .as_ref()
        .ok_or_else(|| FlowError::NotConfigured(vec!["TETHER_PUBLIC_URL"]))?;
    let redirect = github.frontend_url.as_ref().unwrap_or(public);
    Ok(serde_json::json!({
        "name": name,
        "url": public.as_str(),
        "hook_attributes": {"url": webhook_url(public).as_str(), "active": true},
        "redirect_url": redirect.as_str(),
        "callback_urls": [callback_url(public).as_str()],
        "setup_url": setup_url(public).as_str(),
        "setup_on_update": true,
        "public": false,
        "request_oauth_on_install": false,
        "default_permissions": {"contents": "read", "metadata": "read"},
        "default_events": ["push", "repository"],
    }))
}

/// The frontend URL with the flow's outcome in its query (`github=linked`, …).
pub(super) fn back_to(frontend: &Url, pairs: &[(&str, &str)]) -> Url {
    let mut url = frontend.clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    url
}

/// The authorize URL that links the viewer's GitHub account.
pub async fn link_url(state: &AppState, viewer: &Viewer) -> Result<Url, FlowError> {
    let flow = configured(&state.github, false)?;
    let token = oauth_states::issue(
        &state.db,
        &flow.oauth.client_secret,
        Purpose::Link,
        viewer.user_id,
        viewer.organization_id,
    )
    .await?;
    Ok(state.providers.github().authorize_url(
        &flow.oauth.client_id,
        &callback_url(flow.public),
        &token,
    ))
}

/// Checks a returning state: it must be valid, unspent, for `purpose`, and, when the browser
/// also sent credentials, issued to that same user.
pub(super) async fn returning(
    state: &AppState,
    flow: &Configured<'_>,
    purpose: Purpose,
    raw: Option<&str>,
    caller: Option<&Viewer>,
) -> Result<oauth_state::Model, FlowError> {
    let row = oauth_states::consume(&state.db, &flow.oauth.client_secret, purpose, raw).await?;
    if caller.is_some_and(|c| c.user_id != row.user_id) {
        return Err(StateRefused::Invalid.into());
    }
    Ok(row)
}

/// `/auth/github/callback`: trades the code for the user's tokens and links the account.
/// Returns where to send the browser.
pub async fn finish_link(
    state: &AppState,
    code: Option<&str>,
    raw_state: Option<&str>,
    error: Option<&str>,
    caller: Option<&Viewer>,
) -> Result<Url, FlowError> {
    let flow = configured(&state.github, false)?;
    let row = returning(state, &flow, Purpose::Link, raw_state, caller).await?;
    // The user pressed Cancel on GitHub: nothing to link, and the state is spent.
    if error.is_some() || code.is_none() {
        return Ok(back_to(flow.frontend, &[("github", "link_cancelled")]));
    }
    let github = state.providers.github();
    let http = linked_accounts::oauth_fetcher(state);
    let tokens = github
        .exchange_code(
            &http,
            &flow.oauth.client(),
            code.unwrap_or_default(),
            &callback_url(flow.public),
        )
        .await
        .map_err(|e| match e {
            OAuthError::Refused { code } => {
                FlowError::GitHub(format!("GitHub refused to link the account ({code})"))
            }
            OAuthError::Fetch(err) => FlowError::GitHub(err.to_string()),
        })?;
    let user = github
        .user(&http, &tokens.access_token)
        .await
        .map_err(|e| FlowError::GitHub(e.to_string()))?;
    let linked = linked_accounts::store_github(state, row.user_id, &user, &tokens).await?;
    tracing::info!(user = %row.user_id, github_user = user.id, linked = %linked, "GitHub account linked");
    Ok(back_to(flow.frontend, &[("github", "linked")]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_points_github_at_this_server_and_asks_for_read_only() {
        let github = GitHubSettings {
            public_url: Some(Url::parse("https://tether.example.com").unwrap()),
            ..GitHubSettings::default()
        };
        let manifest = manifest(&github, "Tether Acme").unwrap();
        assert_eq!(manifest["name"], "Tether Acme");
        assert_eq!(
            manifest["hook_attributes"]["url"],
            "https://tether.example.com/webhooks/github"
        );
        assert_eq!(
            manifest["callback_urls"][0],
            "https://tether.example.com/auth/github/callback"
        );
        assert_eq!(
            manifest["setup_url"],
            "https://tether.example.com/github/setup"
        );
        assert_eq!(
            manifest["default_permissions"],
            serde_json::json!({"contents": "read", "metadata": "read"})
        );
        assert!(matches!(
            super::manifest(&GitHubSettings::default(), "x"),
            Err(FlowError::NotConfigured(_))
        ));
    }

    #[test]
    fn flow_urls_keep_the_public_url_s_own_path() {
        let public = Url::parse("https://example.com/tether/").unwrap();
        assert_eq!(
            callback_url(&public).as_str(),
            "https://example.com/tether/auth/github/callback"
        );
        let public = Url::parse("https://tether.example.com").unwrap();
        assert_eq!(
            setup_url(&public).as_str(),
            "https://tether.example.com/github/setup"
        );
        assert_eq!(
            back_to(&public, &[("github", "linked")]).as_str(),
            "https://tether.example.com/?github=linked"
        );
    }
}
