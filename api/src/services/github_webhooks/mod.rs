//! What GitHub App webhooks do to Tether's data. A verified, parsed delivery is recorded and
//! handled in one transaction, so a delivery id is processed at most once (a redelivery finds
//! its record and changes nothing) and a delivery that failed half-way is not recorded (GitHub,
//! or an operator, can deliver it again). Every change a handler makes is reported as a
//! [`Change`]: the one list live updates will publish. Discoveries a delivery asks for are
//! enqueued after the transaction commits.

mod installation;
mod repositories;

use super::connections;
use super::is_unique_violation;
use crate::state::AppState;
use chrono::Utc;
use entities::{ConnectionStatus, Provider, connection, webhook_delivery};
use jobs::providers::github::InstallationId;
use jobs::providers::github::webhooks::{DeliveryId, Event, RepositoryChange};
use jobs::queue::Trigger;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use uuid::Uuid;

/// One change a delivery made, one variant per kind: what live updates will publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A pending connection's installation was approved: it now covers the installation.
    InstallationApproved {
        /// Its organization.
        organization: Uuid,
        /// The connection.
        connection: Uuid,
        /// Repositories of an earlier connection to the same installation re-attached to it.
        reattached: u64,
    },
    /// A pending connection was deleted: its organization already had `kept` for the
    /// installation it was waiting for.
    PendingDropped {
        /// Its organization.
        organization: Uuid,
        /// The deleted pending connection.
        connection: Uuid,
        /// The connection that already covers the installation.
        kept: Uuid,
    },
    /// A connection's status changed.
    Status {
        /// Its organization.
        organization: Uuid,
        /// The connection.
        connection: Uuid,
        /// The new status.
        status: ConnectionStatus,
        /// Its message.
        message: String,
    },
    /// A discovery of a connection is due now (enqueued once the delivery commits).
    DiscoveryRequested {
        /// Its organization.
        organization: Uuid,
        /// The connection.
        connection: Uuid,
    },
    /// Repositories were granted to a connection's installation: added, or revived.
    RepositoriesAdded {
        /// Its organization.
        organization: Uuid,
        /// The connection.
        connection: Uuid,
        /// New rows, `(id, full name)`.
        added: Vec<(Uuid, String)>,
        /// Known rows brought back or renamed, `(id, full name)`.
        updated: Vec<(Uuid, String)>,
    },
    /// Repositories were taken from a connection's installation: now `GONE`.
    RepositoriesGone {
        /// Its organization.
        organization: Uuid,
        /// The connection.
        connection: Uuid,
        /// The rows, `(id, full name)`.
        repositories: Vec<(Uuid, String)>,
    },
    /// A repository's metadata changed (renamed, archived, visibility, default branch, deleted).
    RepositoryUpdated {
        /// Its organization.
        organization: Uuid,
        /// The row.
        repository: TouchedRow,
        /// What changed.
        change: RepositoryChange,
    },
    /// A repository's default branch has a new head commit.
    HeadCommit {
        /// Its organization.
        organization: Uuid,
        /// The row.
        repository: TouchedRow,
        /// The commit.
        sha: String,
    },
}

/// A repository row a delivery changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchedRow {
    /// The row.
    pub id: Uuid,
    /// Its connection.
    pub connection: Option<Uuid>,
    /// Its full name after the change.
    pub full_name: String,
}

/// How a delivery was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Handled now, with what it changed.
    Processed(Vec<Change>),
    /// This delivery id was processed before: nothing done.
    Duplicate,
    /// An event or action Tether does not act on: nothing done, nothing recorded.
    Ignored,
}

/// Every organization's GitHub connections of `installation`. Webhooks address installations,
/// not organizations: each organization that connected the installation gets the change.
async fn of_installation<C: ConnectionTrait>(
    db: &C,
    installation: InstallationId,
) -> Result<Vec<connection::Model>, DbErr> {
    connection::Entity::find()
        .filter(connection::Column::Provider.eq(Provider::Github))
        .filter(connection::Column::InstallationId.eq(installation.get()))
        .all(db)
        .await
}

/// Records delivery `id` of `event` and handles it, at most once per id.
pub async fn receive(state: &AppState, id: &DeliveryId, event: Event) -> Result<Receipt, DbErr> {
    if matches!(event, Event::Ignored(_)) {
        return Ok(Receipt::Ignored);
    }
    let txn = state.db.begin().await?;
    let record = webhook_delivery::ActiveModel {
        id: Set(id.as_str().to_owned()),
        provider: Set(Provider::Github),
        event: Set(event.label()),
        received_at: Set(Utc::now()),
    };
    match record.insert(&txn).await {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            txn.rollback().await?;
            return Ok(Receipt::Duplicate);
        }
        Err(err) => return Err(err),
    }
    let changes = match &event {
        Event::Installation(event) => installation::handle(&txn, state, event).await?,
        Event::Repositories(event) => repositories::granted(&txn, state, event).await?,
        Event::Repository(event) => repositories::changed(&txn, event).await?,
        Event::Push(event) => repositories::pushed(&txn, event).await?,
        Event::Ignored(_) => Vec::new(),
    };
    txn.commit().await?;
    publish(state, &changes);
    enqueue_requested(state, &changes).await;
    Ok(Receipt::Processed(changes))
}

/// Tells live subscribers what the delivery changed (once it is committed).
fn publish(state: &AppState, changes: &[Change]) {
    use jobs::events::{Event as Live, RepositoryChange as Kind};
    let bus = &state.events;
    for change in changes {
        match change {
            Change::InstallationApproved {
                organization,
                connection,
                ..
            }
            | Change::PendingDropped {
                organization,
                connection,
                ..
            } => bus.publish_one(
                *organization,
                Live::ConnectionChanged {
                    connection_id: *connection,
                    status: None,
                    message: None,
                },
            ),
            Change::Status {
                organization,
                connection,
                status,
                message,
            } => bus.publish_one(
                *organization,
                Live::ConnectionChanged {
                    connection_id: *connection,
                    status: Some(status.to_value()),
                    message: Some(message.clone()),
                },
            ),
            Change::DiscoveryRequested { .. } => {}
            Change::RepositoriesAdded {
                organization,
                connection,
                added,
                updated,
            } => {
                let connection = Some(*connection);
                bus.publish_repositories(*organization, connection, Kind::Added, added.clone());
                bus.publish_repositories(*organization, connection, Kind::Updated, updated.clone());
            }
            Change::RepositoriesGone {
                organization,
                connection,
                repositories,
            } => bus.publish_repositories(
                *organization,
                Some(*connection),
                Kind::Gone,
                repositories.clone(),
            ),
            Change::RepositoryUpdated {
                organization,
                repository,
                ..
            }
            | Change::HeadCommit {
                organization,
                repository,
                ..
            } => bus.publish_repositories(
                *organization,
                repository.connection,
                Kind::Updated,
                vec![(repository.id, repository.full_name.clone())],
            ),
        }
    }
}

/// Enqueues the discoveries `changes` ask for. A failure leaves the connection due, for the
/// scheduler to pick up.
async fn enqueue_requested(state: &AppState, changes: &[Change]) {
    for change in changes {
        let Change::DiscoveryRequested { connection, .. } = change else {
            continue;
        };
        match connection::Entity::find_by_id(*connection)
            .one(&state.db)
            .await
        {
            Ok(Some(row)) => connections::enqueue(state, &row, Trigger::Webhook).await,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(connection = %connection, error = %err, "could not read a connection to enqueue its discovery");
            }
        }
    }
}
