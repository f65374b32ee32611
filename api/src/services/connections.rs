//! Creating, re-crediting, syncing and deleting connections. Creation checks the scope and the
//! credential live before anything is stored; deletion detaches repositories, never deletes them.

use super::{Failure, is_unique_violation};
use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use crate::graphql::types::user_error::from_check;
use crate::graphql::types::{UserError, UserErrorCode};
use crate::state::AppState;
use chrono::Utc;
use entities::{ConnectionStatus, Provider, connection};
use jobs::providers::Credential;
use jobs::queue::Trigger;
use jobs::scheduler::claim;
use jobs::{AccessToken, Scope};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Select, Set, TransactionTrait,
};
use uuid::Uuid;

/// A connection to create, already parsed.
pub struct NewConnection {
    /// What it covers.
    pub scope: Scope,
    /// The credential to check (and store, except for GitHub).
    pub credential: Credential,
    /// Whether the credential is stored with the connection (GitHub uses the app's key).
    pub store_credential: bool,
    /// A name chosen by the user.
    pub name: Option<String>,
}

/// Checks a connection name chosen by the user.
pub fn parse_name(raw: Option<&str>) -> Result<Option<String>, UserError> {
    match raw.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(name) if name.chars().count() <= 100 => Ok(Some(name.to_owned())),
        Some(_) => Err(UserError::new(
            Some("name"),
            UserErrorCode::InvalidInput,
            "the name must be at most 100 characters long",
        )),
    }
}

/// The longest a live check may take inside a request, all its provider calls included.
const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs the provider's live check under [`CHECK_DEADLINE`], as a user error on failure.
async fn check(
    state: &AppState,
    scope: &Scope,
    credential: &Credential,
) -> Result<jobs::ValidatedScope, UserError> {
    let fields = scope.fields();
    match tokio::time::timeout(CHECK_DEADLINE, state.providers.check(scope, credential)).await {
        Ok(result) => result.map_err(|e| from_check(e, fields.scope, fields.url)),
        Err(_) => Err(UserError::new(
            fields.url,
            UserErrorCode::Unreachable,
            format!(
                "the provider did not answer within {} s",
                CHECK_DEADLINE.as_secs()
            ),
        )),
    }
}

fn duplicate() -> UserError {
    UserError::new(
        None,
        UserErrorCode::DuplicateConnection,
        "this organization already has a connection for that scope",
    )
}

/// What differs between new connection rows.
pub struct NewRow<'a> {
    /// The row's id.
    pub id: Uuid,
    /// Its organization.
    pub organization: Uuid,
    /// Its provider.
    pub provider: Provider,
    /// Its name.
    pub name: String,
    /// The `PENDING` status's message.
    pub message: &'a str,
    /// The scope's key (unique per organization).
    pub scope_key: String,
    /// The host its repositories live on.
    pub host: String,
    /// The scope's columns.
    pub columns: jobs::scope::ScopeColumns,
    /// Whether its first discovery is due now (else it is not scheduled).
    pub due: bool,
}

/// A `PENDING` connection row, without a credential.
pub fn new_row(new: NewRow<'_>) -> connection::ActiveModel {
    let now = Utc::now();
    connection::ActiveModel {
        id: Set(new.id),
        organization_id: Set(new.organization),
        provider: Set(new.provider),
        name: Set(new.name),
        status: Set(ConnectionStatus::Pending),
        status_message: Set(Some(new.message.to_owned())),
        scope_key: Set(new.scope_key),
        host: Set(new.host),
        group_path: Set(new.columns.group_path),
        workspace_id: Set(new.columns.workspace_id),
        organization_url: Set(new.columns.organization_url),
        instance_url: Set(new.columns.instance_url),
        installation_id: Set(new.columns.installation_id),
        credential: Set(None),
        credential_email: Set(None),
        token_hint: Set(None),
        last_discovered_at: Set(None),
        next_discovery_at: Set(new.due.then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        discovery_interval_secs: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        cancel_requested_at: Set(None),
        requested_by: Set(None),
    }
}

/// Validates `new` live and stores it, re-attaching repositories of an earlier connection to
/// the same scope.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    new: NewConnection,
) -> Result<connection::Model, Failure> {
    let identity = new.scope.identity(state.providers.endpoints());
    let existing = connection::Entity::find_in_org(viewer.organization_id)
        .filter(connection::Column::ScopeKey.eq(&identity.key))
        .one(&state.db)
        .await?;
    if existing.is_some() {
        return Err(duplicate().into());
    }
    let validated = check(state, &new.scope, &new.credential).await?;

    let id = entities::new_id();
    let mut row = new_row(NewRow {
        id,
        organization: viewer.organization_id,
        provider: new.scope.provider(),
        name: new.name.unwrap_or(validated.display_name),
        message: "Connected; waiting for the first discovery",
        scope_key: identity.key.clone(),
        host: identity.host,
        columns: new.scope.to_columns(),
        due: true,
    });
    if new.store_credential {
        let sealed = state
            .keyring
            .seal(
                new.credential.token.secret(),
                connection::credential_context(id),
            )
            .map_err(|e| Failure::Api(ApiError::Internal(format!("sealing a credential: {e}"))))?;
        row.credential = Set(Some(sealed));
        row.credential_email = Set(new.credential.email.as_ref().map(|e| e.as_str().to_owned()));
        row.token_hint = Set(Some(new.credential.token.hint()));
    }

    let txn = state.db.begin().await?;
    let inserted = match row.insert(&txn).await {
        Ok(model) => model,
        Err(err) if is_unique_violation(&err) => return Err(duplicate().into()),
        Err(err) => return Err(err.into()),
    };
    let reattached = reattach(&txn, viewer.organization_id, &identity.key, id).await?;
    txn.commit().await?;
    enqueue(state, &inserted, Trigger::Created).await;
    announce(state, &inserted);
    tracing::info!(
        connection = %id,
        organization = %viewer.organization_id,
        provider = ?inserted.provider,
        reattached,
        "connection created"
    );
    Ok(inserted)
}

pub use jobs::discovery::links::reattach;
use jobs::discovery::links::release;

/// Which of the organization's connections a listing shows.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionFilter {
    /// Only this provider's.
    pub provider: Option<Provider>,
    /// Only those in this status.
    pub status: Option<ConnectionStatus>,
}

/// The viewer's organization's connections matching `filter`, as a query to paginate.
pub fn select(viewer: &Viewer, filter: ConnectionFilter) -> Select<connection::Entity> {
    let mut select = connection::Entity::find_in_org(viewer.organization_id);
    if let Some(provider) = filter.provider {
        select = select.filter(connection::Column::Provider.eq(provider));
    }
    if let Some(status) = filter.status {
        select = select.filter(connection::Column::Status.eq(status));
    }
    select
}

/// One connection of the viewer's organization, or NOT_FOUND.
pub async fn find(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> Result<connection::Model, ApiError> {
    connection::Entity::find_in_org_by_id(viewer.organization_id, id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The id of the viewer's organization's connection for `scope`, if it has one.
pub async fn find_by_scope(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
) -> Result<Option<Uuid>, ApiError> {
    let key = scope.identity(state.providers.endpoints()).key;
    Ok(connection::Entity::find_in_org(viewer.organization_id)
        .filter(connection::Column::ScopeKey.eq(key))
        .one(&state.db)
        .await?
        .map(|row| row.id))
}

/// Rebuilds the scope of a stored connection.
fn scope_of(row: &connection::Model) -> Result<Scope, ApiError> {
    Scope::from_row(row).map_err(|e| ApiError::Internal(e.to_string()))
}

/// What `updateConnectionCredential` does with the Bitbucket account email.
pub enum EmailChange {
    /// Omitted: keep the stored one (an API token replaced by another).
    Keep,
    /// Empty: drop it (switching to a workspace access token, sent as Bearer).
    Clear,
    /// A new email (switching to, or between, API tokens).
    Set(jobs::AccountEmail),
}

/// Replaces a connection's credential after checking the new one live against its scope.
pub async fn update_credential(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    token: AccessToken,
    email: EmailChange,
) -> Result<connection::Model, Failure> {
    let row = find(state, viewer, id).await.map_err(Failure::Api)?;
    if row.provider == Provider::Github {
        return Err(UserError::new(
            Some("token"),
            UserErrorCode::InvalidInput,
            "GitHub connections authenticate as the Tether GitHub App and have no token to update",
        )
        .into());
    }
    let scope = scope_of(&row).map_err(Failure::Api)?;
    // Only Bitbucket API tokens pair with an email; for the rest it is meaningless.
    let email = match (row.provider, email) {
        (Provider::Bitbucket, EmailChange::Set(email)) => Some(email),
        (Provider::Bitbucket, EmailChange::Keep) => row
            .credential_email
            .as_deref()
            .and_then(|e| jobs::AccountEmail::parse(e, "email").ok()),
        _ => None,
    };
    let credential = Credential { token, email };
    check(state, &scope, &credential).await?;
    let now = Utc::now();
    let was_unauthorized = row.status == ConnectionStatus::Unauthorized;
    let mut active: connection::ActiveModel = row.into();
    let sealed = state
        .keyring
        .seal(
            credential.token.secret(),
            connection::credential_context(id),
        )
        .map_err(|e| Failure::Api(ApiError::Internal(format!("sealing a credential: {e}"))))?;
    active.credential = Set(Some(sealed));
    active.credential_email = Set(credential.email.as_ref().map(|e| e.as_str().to_owned()));
    active.token_hint = Set(Some(credential.token.hint()));
    active.updated_at = Set(now);
    if was_unauthorized {
        active.status = Set(ConnectionStatus::Pending);
        active.status_message = Set(Some("Credential updated; waiting for discovery".to_owned()));
        active.next_discovery_at = Set(Some(now));
    }
    let row = active.update(&state.db).await?;
    announce(state, &row);
    Ok(row)
}

/// Enqueues a discovery now and claims the connection so the scheduler does not enqueue it
/// again; when the queue is unreachable the connection stays due and the scheduler retries.
pub(crate) async fn enqueue(state: &AppState, row: &connection::Model, trigger: Trigger) {
    match state
        .queues
        .discover(row.provider, row.id, trigger, None)
        .await
    {
        Ok(()) => {
            if let Err(err) = claim(&state.db, row.id, row.next_discovery_at).await {
                tracing::warn!(connection = %row.id, error = %err, "could not claim an enqueued connection");
            }
        }
        Err(err) => {
            tracing::warn!(connection = %row.id, error = %err, "could not enqueue a discovery")
        }
    }
}

/// Asks for a discovery now.
pub async fn request_sync(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> Result<connection::Model, ApiError> {
    request_discovery(state, viewer, id, Trigger::Manual).await
}

/// Asks for a discovery of `id` now, for `trigger`.
pub async fn request_discovery(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    trigger: Trigger,
) -> Result<connection::Model, ApiError> {
    let row = find(state, viewer, id).await?;
    let now = Utc::now();
    let mut active: connection::ActiveModel = row.into();
    active.next_discovery_at = Set(Some(now));
    active.updated_at = Set(now);
    let row = active.update(&state.db).await?;
    enqueue(state, &row, trigger).await;
    announce(state, &row);
    Ok(row)
}

/// Cancels `id`'s discovery: its waiting jobs are removed and a running one stops at once
/// (what it listed is kept; nothing is marked gone). Returns the connection and how many
/// waiting jobs were removed.
pub async fn cancel_discovery(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> Result<(connection::Model, u64), ApiError> {
    let row = find(state, viewer, id).await?;
    let now = Utc::now();
    // Only a run holding the lease can be asked to stop; a later run is not affected.
    connection::Entity::update_many()
        .col_expr(connection::Column::CancelRequestedAt, Expr::value(now))
        .filter(connection::Column::Id.eq(row.id))
        .filter(connection::Column::LeaseOwner.is_not_null())
        .filter(connection::Column::LeaseUntil.gt(now))
        .exec(&state.db)
        .await?;
    // The worker running it hears this at once; the column above is the fallback it reads at
    // its next lease renewal.
    state.events.publish_one(
        row.organization_id,
        jobs::events::Event::CancelRequested {
            connection_id: row.id,
        },
    );
    let removed = state
        .queues
        .cancel(row.id)
        .await
        .map_err(|e| ApiError::Internal(format!("cancelling queued jobs: {e}")))?;
    tracing::info!(connection = %row.id, removed, "discovery cancelled");
    let row = find(state, viewer, id).await?;
    announce(state, &row);
    Ok((row, removed))
}

/// Tells live subscribers that `row` changed (its schedule, name or credential).
pub(crate) fn announce(state: &AppState, row: &connection::Model) {
    state.events.publish_one(
        row.organization_id,
        jobs::events::Event::ConnectionChanged {
            connection_id: row.id,
            status: None,
            message: None,
        },
    );
}

/// Deletes a connection. Repositories another connection still lists stay as they are; those
/// no other connection covers become DETACHED with scanning off, findings kept.
pub async fn delete(state: &AppState, viewer: &Viewer, id: Uuid) -> Result<Uuid, ApiError> {
    let row = find(state, viewer, id).await?;
    let txn = state.db.begin().await?;
    let released = release(&txn, &row).await?;
    connection::Entity::delete_by_id(row.id).exec(&txn).await?;
    txn.commit().await?;
    let detached = released.detached.len();
    // Live subscribers learn of it once it is committed.
    state.events.publish_repositories(
        viewer.organization_id,
        None,
        jobs::events::RepositoryChange::Detached,
        released.detached,
    );
    state.events.publish_repositories(
        viewer.organization_id,
        Some(row.id),
        jobs::events::RepositoryChange::Gone,
        released.gone,
    );
    // Its waiting jobs go too. Were this to fail, they would find the connection gone and do
    // nothing, so the deletion stands.
    let cancelled = match state.queues.cancel(id).await {
        Ok(count) => count,
        Err(err) => {
            tracing::warn!(connection = %id, error = %err, "could not cancel a deleted connection's jobs");
            0
        }
    };
    tracing::info!(
        connection = %id,
        detached,
        cancelled,
        "connection deleted"
    );
    Ok(id)
}
