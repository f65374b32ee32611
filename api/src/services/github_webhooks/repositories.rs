//! Repository events, as targeted updates of exactly the rows they name, never a discovery:
//! `installation_repositories` adds or marks gone the repositories granted to or taken from an
//! installation; `repository` updates one repository's row; a `push` to the default branch
//! records its new head commit. Rows are those of the installation's connections, in each
//! organization that connected it.

use super::{Change, TouchedRow, of_installation};
use crate::state::AppState;
use chrono::Utc;
use entities::repository_connection as link;
use entities::{RepositoryState, connection, repository};
use jobs::discovery::{mark_removed, upsert_announced};
use jobs::providers::github::InstallationId;
use jobs::providers::github::webhooks::{
    PushEvent, RepositoriesEvent, RepositoryChange, RepositoryEvent,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, DbErr, EntityTrait, JoinType, QueryFilter,
    QuerySelect, RelationTrait, UpdateMany,
};
use uuid::Uuid;

/// Upserts the repositories granted to the installation into each of its connections and
/// marks those taken from it gone; nothing else is touched.
pub(super) async fn granted(
    txn: &DatabaseTransaction,
    state: &AppState,
    event: &RepositoriesEvent,
) -> Result<Vec<Change>, DbErr> {
    let removed_ids: Vec<String> = event.removed.iter().map(|r| r.id.to_string()).collect();
    let mut changes = Vec::new();
    for conn in of_installation(txn, event.installation).await? {
        if !event.added.is_empty() {
            let announced = event
                .added
                .iter()
                .map(|r| r.to_remote(&state.providers.endpoints().github_web))
                .collect();
            let (counters, rows) = upsert_announced(txn, &conn, announced).await?;
            tracing::info!(connection = %conn.id, added = counters.added, updated = counters.updated, "repositories granted to a GitHub installation");
            if counters.changed() {
                changes.push(Change::RepositoriesAdded {
                    organization: conn.organization_id,
                    connection: conn.id,
                    added: rows.added,
                    updated: rows.updated,
                });
            }
        }
        let gone = mark_removed(txn, &conn, removed_ids.clone()).await?;
        if !gone.is_empty() {
            tracing::info!(connection = %conn.id, gone = gone.len(), "repositories taken from a GitHub installation");
            changes.push(Change::RepositoriesGone {
                organization: conn.organization_id,
                connection: conn.id,
                repositories: gone,
            });
        }
    }
    Ok(changes)
}

/// The rows of `external_id` under the connections of `installation` (the repository changes
/// only where that installation lists it): `(id, organization, connection, full name)`.
async fn rows_of(
    txn: &DatabaseTransaction,
    installation: InstallationId,
    external_id: u64,
) -> Result<Vec<(Uuid, Uuid, Option<Uuid>, String)>, DbErr> {
    let connections: Vec<connection::Model> = of_installation(txn, installation).await?;
    if connections.is_empty() {
        return Ok(Vec::new());
    }
    let mut owners = Condition::any();
    for conn in &connections {
        owners = owners.add(
            Condition::all()
                .add(repository::Column::OrganizationId.eq(conn.organization_id))
                .add(repository::Column::Host.eq(&conn.host))
                .add(link::Column::ConnectionId.eq(conn.id)),
        );
    }
    repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .column(repository::Column::OrganizationId)
        .column(link::Column::ConnectionId)
        .column(repository::Column::FullName)
        .join(JoinType::InnerJoin, link::Relation::Repository.def().rev())
        .filter(repository::Column::ExternalId.eq(external_id.to_string()))
        .filter(owners)
        .into_tuple()
        .all(txn)
        .await
}

/// What `change` sets on a repository row.
fn apply(
    update: UpdateMany<repository::Entity>,
    change: &RepositoryChange,
) -> UpdateMany<repository::Entity> {
    let update = update.col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()));
    match change {
        RepositoryChange::Names {
            name,
            full_name,
            web_url,
            clone_url,
        } => {
            let mut update = update
                .col_expr(repository::Column::Name, Expr::value(name))
                .col_expr(repository::Column::FullName, Expr::value(full_name));
            if let Some(url) = web_url {
                update = update.col_expr(repository::Column::WebUrl, Expr::value(url));
            }
            if let Some(url) = clone_url {
                update = update.col_expr(repository::Column::CloneUrl, Expr::value(url));
            }
            update
        }
        RepositoryChange::Archived(archived) => {
            update.col_expr(repository::Column::Archived, Expr::value(*archived))
        }
        RepositoryChange::Visibility(visibility) => {
            update.col_expr(repository::Column::Visibility, Expr::value(*visibility))
        }
        // The stored ETag was for the old branch: the next refresh reads the new one afresh.
        RepositoryChange::DefaultBranch(branch) => update
            .col_expr(repository::Column::DefaultBranch, Expr::value(branch))
            .col_expr(
                repository::Column::Etag,
                Expr::value(Option::<String>::None),
            ),
        RepositoryChange::Deleted => update.col_expr(
            repository::Column::State,
            Expr::value(RepositoryState::Gone),
        ),
    }
}

/// Applies a `repository` event to that repository's rows.
pub(super) async fn changed(
    txn: &DatabaseTransaction,
    event: &RepositoryEvent,
) -> Result<Vec<Change>, DbErr> {
    let rows = rows_of(txn, event.installation, event.repository_id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    apply(repository::Entity::update_many(), &event.change)
        .filter(repository::Column::Id.is_in(rows.iter().map(|(id, ..)| *id)))
        .exec(txn)
        .await?;
    // A repository deleted upstream is gone for every connection that listed it.
    if event.change == RepositoryChange::Deleted {
        link::Entity::update_many()
            .col_expr(link::Column::Listed, Expr::value(false))
            .filter(link::Column::RepositoryId.is_in(rows.iter().map(|(id, ..)| *id)))
            .exec(txn)
            .await?;
    }
    let renamed = match &event.change {
        RepositoryChange::Names { full_name, .. } => Some(full_name),
        _ => None,
    };
    Ok(rows
        .into_iter()
        .map(
            |(id, organization, connection, full_name)| Change::RepositoryUpdated {
                organization,
                repository: TouchedRow {
                    id,
                    connection,
                    full_name: renamed.cloned().unwrap_or(full_name),
                },
                change: event.change.clone(),
            },
        )
        .collect())
}

/// Records a push's new head of the default branch on that repository's rows.
pub(super) async fn pushed(
    txn: &DatabaseTransaction,
    event: &PushEvent,
) -> Result<Vec<Change>, DbErr> {
    let rows = rows_of(txn, event.installation, event.repository_id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    repository::Entity::update_many()
        .col_expr(repository::Column::HeadCommitSha, Expr::value(&event.head))
        .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
        .filter(repository::Column::Id.is_in(rows.iter().map(|(id, ..)| *id)))
        .exec(txn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, organization, connection, full_name)| Change::HeadCommit {
                organization,
                repository: TouchedRow {
                    id,
                    connection,
                    full_name,
                },
                sha: event.head.clone(),
            },
        )
        .collect())
}
