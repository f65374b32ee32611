//! Installing the Tether GitHub App from a browser: the install URL (with a single-use state),
//! and `/github/setup`, where GitHub sends the browser back after an install, an installation
//! request an organization owner must approve, or a change of an installation.

use super::github_flow::{FlowError, back_to, configured, returning};
use super::oauth_states::{self, Purpose};
use super::{Failure, connections, linked_accounts};
use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::graphql::ids::{self, Kind};
use crate::graphql::types::UserErrorCode;
use crate::state::AppState;
use entities::{Role, TokenKind, membership, oauth_state};
use jobs::providers::github::InstallationId;
use jobs::{Credential, Scope};
use url::Url;
use uuid::Uuid;

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
    let Some(account) = linked_accounts::github_account(&state.db, viewer.user_id).await? else {
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
    let Some(token) = linked_accounts::token_of(state, account).await? else {
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
    use sea_orm::{ActiveModelTrait, Set};
    let id = entities::new_id();
    let host = state.providers.endpoints().github_host();
    let mut row = connections::new_row(connections::NewRow {
        id,
        organization: viewer.organization_id,
        provider: entities::Provider::Github,
        name: "GitHub installation request".to_owned(),
        message: "Waiting for an organization owner to approve the Tether GitHub App on GitHub",
        // Unique per organization until the installation is known.
        scope_key: format!("github:{host}:request:{id}"),
        host,
        columns: jobs::scope::ScopeColumns::default(),
        // Not scheduled: there is nothing to list until the owner approves.
        due: false,
    });
    row.requested_by = Set(Some(requested_by.to_owned()));
    row.insert(&state.db).await?;
    tracing::info!(connection = %id, organization = %viewer.organization_id, "GitHub installation requested; waiting for approval");
    Ok(id)
}
