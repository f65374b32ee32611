//! The GitHub web flows a browser walks through: linking the user's GitHub account (OAuth web
//! flow) and installing the Tether GitHub App, including installations an organization owner
//! must approve. Each starts from a URL carrying a single-use state (`oauth_states`) and ends on
//! a Tether callback that needs no Authorization header: the state names the user.

use super::oauth_states::{self, Purpose, StateRefused};
use super::{Failure, connections, linked_accounts};
use crate::auth::Viewer;
use crate::config::{GitHubSettings, OAuthClient};
use crate::graphql::errors::ApiError;
use crate::graphql::ids::{self, Kind};
use crate::graphql::types::{UserError, UserErrorCode};
use crate::state::AppState;
use entities::{Role, TokenKind, membership, oauth_state};
use jobs::http::FetchPolicy;
use jobs::providers::github::{InstallationId, OAuthError};
use jobs::{Credential, Scope};
use sea_orm::DbErr;
use url::Url;
use uuid::Uuid;

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

impl FlowError {
    /// As a mutation's user error (or an API error to raise).
    pub fn into_failure(self) -> Failure {
        match self {
            Self::NotConfigured(_) => Failure::User(UserError::new(
                None,
                UserErrorCode::NotConfigured,
                self.to_string(),
            )),
            Self::Forbidden(what) => Failure::Api(ApiError::Forbidden(what)),
            Self::Api(err) => Failure::Api(err),
            other => Failure::User(UserError::new(
                None,
                UserErrorCode::InvalidInput,
                other.to_string(),
            )),
        }
    }
}

/// What the OAuth flow needs configured.
struct Configured<'a> {
    oauth: &'a OAuthClient,
    public: &'a Url,
    frontend: &'a Url,
}

fn configured<'a>(github: &'a GitHubSettings, slug: bool) -> Result<Configured<'a>, FlowError> {
    let mut missing = Vec::new();
    if github.oauth.is_none() {
        missing.extend(["TETHER_GITHUB_CLIENT_ID", "TETHER_GITHUB_CLIENT_SECRET"]);
    }
    if github.public_url.is_none() {
        missing.push("TETHER_PUBLIC_URL");
    }
    if github.frontend_url.is_none() {
        missing.push("TETHER_FRONTEND_URL");
    }
    if slug && github.app_slug.is_none() {
        missing.push("TETHER_GITHUB_APP_SLUG");
    }
    if slug && github.app.is_none() {
        missing.extend(["TETHER_GITHUB_APP_ID", "TETHER_GITHUB_APP_PRIVATE_KEY_FILE"]);
    }
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

/// The frontend URL with the flow's outcome in its query (`github=linked`, …).
fn back_to(frontend: &Url, pairs: &[(&str, &str)]) -> Url {
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

/// The URL that installs the Tether GitHub App (or requests its installation) for the viewer's
/// organization.
pub async fn install_url(state: &AppState, viewer: &Viewer) -> Result<Url, FlowError> {
    if !viewer.can_manage_connections() {
        return Err(FlowError::Forbidden("managing connections"));
    }
    let flow = configured(&state.github, true)?;
    let slug = state.github.app_slug.as_deref().unwrap_or_default();
    let token = oauth_states::issue(
        &state.db,
        &flow.oauth.client_secret,
        Purpose::Install,
        viewer.user_id,
        viewer.organization_id,
    )
    .await?;
    Ok(state.providers.github().install_url(slug, &token))
}

/// Checks a returning state: it must be valid, unspent, for `purpose`, and, when the browser
/// also sent credentials, issued to that same user.
async fn returning(
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
    let http = state.providers.fetcher(
        &host(&state.endpoints.github_web),
        None,
        FetchPolicy::check(),
    );
    let client = jobs::providers::github::OAuthClient {
        id: &flow.oauth.client_id,
        secret: &flow.oauth.client_secret,
    };
    let tokens = github
        .exchange_code(
            &http,
            &client,
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

fn host(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

/// The viewer a returning install state acts as: its user, in its organization, with the role
/// they have now (a state outlives nothing: a demoted user's state no longer installs).
async fn acting(state: &AppState, row: &oauth_state::Model) -> Result<Viewer, FlowError> {
    let member = membership::Entity::find_for(row.organization_id, row.user_id)
        .one(&state.db)
        .await?
        .ok_or(FlowError::Forbidden("managing connections"))?;
    let viewer = Viewer {
        user_id: row.user_id,
        organization_id: row.organization_id,
        role: member.role,
        // The credential of this request is the state itself.
        token_id: row.id,
        token_kind: TokenKind::Session,
    };
    if viewer.role < Role::Admin {
        return Err(FlowError::Forbidden("managing connections"));
    }
    Ok(viewer)
}

/// `/github/setup`: where GitHub sends the browser after an install (`install`), an
/// installation request (`request`) or a change of an installation (`update`).
pub async fn finish_setup(
    state: &AppState,
    installation_id: Option<&str>,
    action: Option<&str>,
    raw_state: Option<&str>,
    caller: Option<&Viewer>,
) -> Result<Url, FlowError> {
    let flow = configured(&state.github, true)?;
    let row = returning(state, &flow, Purpose::Install, raw_state, caller).await?;
    let viewer = acting(state, &row).await?;
    let Some(account) = linked_accounts::github_account(state, &viewer).await? else {
        return Ok(back_to(
            flow.frontend,
            &[("github", "error"), ("code", "ACCOUNT_NOT_LINKED")],
        ));
    };
    if action == Some("request") {
        let pending = create_request(state, &viewer, &account.external_id).await?;
        let id = ids::encode(Kind::Connection, pending);
        return Ok(back_to(
            flow.frontend,
            &[("github", "requested"), ("connection", id.as_str())],
        ));
    }
    let installation = installation_id
        .and_then(|raw| InstallationId::parse(raw).ok())
        .ok_or_else(|| FlowError::GitHub("GitHub sent no installation id".into()))?;
    let Some(token) = linked_accounts::github_token(state, &viewer).await? else {
        return Ok(back_to(
            flow.frontend,
            &[("github", "error"), ("code", "ACCOUNT_NOT_LINKED")],
        ));
    };
    let new = connections::NewConnection {
        scope: Scope::Github(installation),
        credential: Credential { token, email: None },
        store_credential: false,
        name: None,
    };
    let created = connections::create(state, &viewer, new).await;
    let outcome = match created {
        Ok(row) => ("installed", row.id),
        Err(Failure::User(err)) if err.code == UserErrorCode::DuplicateConnection => {
            // `update` (or a second install click): the connection exists; look again.
            let existing = connections::find_by_scope(state, &viewer, &Scope::Github(installation))
                .await?
                .ok_or(FlowError::Api(ApiError::NotFound))?;
            connections::request_sync(state, &viewer, existing).await?;
            ("updated", existing)
        }
        Err(Failure::User(err)) => {
            let code = format!("{:?}", err.code);
            return Ok(back_to(
                flow.frontend,
                &[
                    ("github", "error"),
                    ("code", &code),
                    ("message", &err.message),
                ],
            ));
        }
        Err(Failure::Api(err)) => return Err(err.into()),
    };
    let id = ids::encode(Kind::Connection, outcome.1);
    Ok(back_to(
        flow.frontend,
        &[("github", outcome.0), ("connection", id.as_str())],
    ))
}

/// Records an installation an organization owner must approve on GitHub: a `PENDING`
/// connection without an installation, waiting for the `installation.created` webhook that
/// names `requested_by` (the requester's GitHub user id) to complete it.
async fn create_request(
    state: &AppState,
    viewer: &Viewer,
    requested_by: &str,
) -> Result<Uuid, FlowError> {
    use entities::{ConnectionStatus, Provider, connection};
    use sea_orm::{ActiveModelTrait, Set};
    let id = entities::new_id();
    let now = chrono::Utc::now();
    let host = state.endpoints.github_host();
    connection::ActiveModel {
        id: Set(id),
        organization_id: Set(viewer.organization_id),
        provider: Set(Provider::Github),
        name: Set("GitHub installation request".to_owned()),
        status: Set(ConnectionStatus::Pending),
        status_message: Set(Some(
            "Waiting for an organization owner to approve the Tether GitHub App on GitHub"
                .to_owned(),
        )),
        // Unique per organization until the installation is known.
        scope_key: Set(format!("github:{host}:request:{id}")),
        host: Set(host),
        group_path: Set(None),
        workspace_id: Set(None),
        organization_url: Set(None),
        instance_url: Set(None),
        installation_id: Set(None),
        credential: Set(None),
        credential_email: Set(None),
        token_hint: Set(None),
        last_discovered_at: Set(None),
        // Not scheduled: there is nothing to list until the owner approves.
        next_discovery_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        discovery_interval_secs: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        requested_by: Set(Some(requested_by.to_owned())),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(connection = %id, organization = %viewer.organization_id, "GitHub installation requested; waiting for approval");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

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
