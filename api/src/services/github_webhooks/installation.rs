//! `installation` events: an approved request completes its pending connections; uninstalling
//! or suspending the app suspends every connection of the installation (repositories and
//! findings kept); unsuspending it or accepting new permissions asks for a discovery, which
//! sets the status back.

use super::{Change, of_installation};
use crate::services::connections::reattach;
use crate::state::AppState;
use chrono::Utc;
use entities::{ConnectionStatus, Provider, connection};
use jobs::Scope;
use jobs::providers::github::InstallationId;
use jobs::providers::github::webhooks::{GitHubUser, InstallationAction, InstallationEvent};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};

/// Handles one `installation` event inside the delivery's transaction.
pub(super) async fn handle(
    txn: &DatabaseTransaction,
    state: &AppState,
    event: &InstallationEvent,
) -> Result<Vec<Change>, DbErr> {
    let account = event.account.as_deref().unwrap_or("its account");
    match &event.action {
        InstallationAction::Created {
            requester: Some(requester),
        } => {
            complete_requests(
                txn,
                state,
                event.installation,
                event.account.as_deref(),
                requester,
            )
            .await
        }
        // Installed directly: the install callback or createGitHubConnection connects it.
        InstallationAction::Created { requester: None } => Ok(Vec::new()),
        InstallationAction::Deleted => {
            let message = format!(
                "The Tether GitHub App was uninstalled from {account}; repositories and \
                 findings are kept. Install the app again to resume discovery."
            );
            suspend(txn, event.installation, message).await
        }
        InstallationAction::Suspend => {
            let message = format!(
                "The Tether GitHub App was suspended on {account}; unsuspend it on GitHub to \
                 resume discovery."
            );
            suspend(txn, event.installation, message).await
        }
        InstallationAction::Unsuspend | InstallationAction::NewPermissionsAccepted => {
            rediscover(txn, event.installation).await
        }
    }
}

/// Completes the pending requests of `requester` (a GitHub user id, in any organization) with
/// the installation an owner approved. An organization that already connected the installation
/// keeps that connection and loses the pending one: it never listed anything (no installation
/// to list), and leaving it would show a request that can never complete.
async fn complete_requests(
    txn: &DatabaseTransaction,
    state: &AppState,
    installation: InstallationId,
    account: Option<&str>,
    requester: &GitHubUser,
) -> Result<Vec<Change>, DbErr> {
    let pending = connection::Entity::find()
        .filter(connection::Column::Provider.eq(Provider::Github))
        .filter(connection::Column::InstallationId.is_null())
        .filter(connection::Column::Status.eq(ConnectionStatus::Pending))
        .filter(connection::Column::RequestedBy.eq(requester.user_id()))
        .all(txn)
        .await?;
    let scope = Scope::Github(installation);
    let identity = scope.identity(state.providers.endpoints());
    let columns = scope.to_columns();
    let mut changes = Vec::new();
    for row in pending {
        let kept = connection::Entity::find_in_org(row.organization_id)
            .filter(connection::Column::ScopeKey.eq(&identity.key))
            .filter(connection::Column::Id.ne(row.id))
            .one(txn)
            .await?;
        if let Some(kept) = kept {
            connection::Entity::delete_by_id(row.id).exec(txn).await?;
            tracing::info!(connection = %row.id, kept = %kept.id, installation = installation.get(), "pending GitHub connection dropped: its installation is already connected");
            changes.push(Change::PendingDropped {
                organization: row.organization_id,
                connection: row.id,
                kept: kept.id,
            });
            continue;
        }
        let now = Utc::now();
        let message = "Installation approved; waiting for the first discovery";
        // The request did not know which account it was for; now the name can say.
        let name = account.map(str::to_owned).unwrap_or(row.name.clone());
        let completed = connection::Entity::update_many()
            .col_expr(connection::Column::Name, Expr::value(name))
            .col_expr(
                connection::Column::InstallationId,
                Expr::value(columns.installation_id),
            )
            .col_expr(connection::Column::ScopeKey, Expr::value(&identity.key))
            .col_expr(connection::Column::Host, Expr::value(&identity.host))
            .col_expr(
                connection::Column::RequestedBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(connection::Column::StatusMessage, Expr::value(message))
            .col_expr(connection::Column::NextDiscoveryAt, Expr::value(now))
            .col_expr(connection::Column::UpdatedAt, Expr::value(now))
            .filter(connection::Column::Id.eq(row.id))
            .filter(connection::Column::InstallationId.is_null())
            .exec(txn)
            .await?;
        if completed.rows_affected != 1 {
            continue;
        }
        let reattached = reattach(txn, row.organization_id, &identity.key, row.id).await?;
        tracing::info!(connection = %row.id, installation = installation.get(), reattached, "pending GitHub connection completed by its approved installation");
        changes.push(Change::InstallationApproved {
            organization: row.organization_id,
            connection: row.id,
            reattached,
        });
        changes.push(Change::Status {
            organization: row.organization_id,
            connection: row.id,
            status: ConnectionStatus::Pending,
            message: message.to_owned(),
        });
        changes.push(Change::DiscoveryRequested {
            organization: row.organization_id,
            connection: row.id,
        });
    }
    Ok(changes)
}

/// Suspends every connection of `installation`; nothing is deleted, and discoveries keep their
/// schedule (they end `SUSPENDED` too until the app is back).
async fn suspend(
    txn: &DatabaseTransaction,
    installation: InstallationId,
    message: String,
) -> Result<Vec<Change>, DbErr> {
    let rows = of_installation(txn, installation).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    connection::Entity::update_many()
        .col_expr(
            connection::Column::Status,
            Expr::value(ConnectionStatus::Suspended),
        )
        .col_expr(connection::Column::StatusMessage, Expr::value(&message))
        .col_expr(connection::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(connection::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(txn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Change::Status {
            organization: row.organization_id,
            connection: row.id,
            status: ConnectionStatus::Suspended,
            message: message.clone(),
        })
        .collect())
}

/// Makes every connection of `installation` due now and asks for its discovery.
async fn rediscover(
    txn: &DatabaseTransaction,
    installation: InstallationId,
) -> Result<Vec<Change>, DbErr> {
    let rows = of_installation(txn, installation).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    connection::Entity::update_many()
        .col_expr(connection::Column::NextDiscoveryAt, Expr::value(now))
        .col_expr(connection::Column::UpdatedAt, Expr::value(now))
        .filter(connection::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(txn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Change::DiscoveryRequested {
            organization: row.organization_id,
            connection: row.id,
        })
        .collect())
}
