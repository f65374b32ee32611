//! Which connections list which repositories: a link per (connection, repository), `listed`
//! while that connection's listings include it. The rules of a repository's state live here:
//! `ACTIVE` while any link is listed; `GONE` once the connections that listed it each completed
//! a listing without it; `DETACHED` when no connection covers it any more. Deleting one of two
//! overlapping connections leaves the repositories the other lists as they were.

use chrono::Utc;
use entities::repository_connection as link;
use entities::{RepositoryState, connection, repository};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set, UpdateMany,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Links per statement: four parameters each, far below SQLite's limit.
pub(crate) const LINK_CHUNK: usize = 1000;

/// Which of `repositories` `connection` has a link to, and whether it is listed.
pub(crate) async fn links_of<C: ConnectionTrait>(
    db: &C,
    connection: Uuid,
    repositories: Vec<Uuid>,
) -> Result<HashMap<Uuid, bool>, DbErr> {
    let mut links = HashMap::new();
    for chunk in repositories.chunks(LINK_CHUNK) {
        let rows: Vec<(Uuid, bool)> = link::Entity::find()
            .select_only()
            .column(link::Column::RepositoryId)
            .column(link::Column::Listed)
            .filter(link::Column::ConnectionId.eq(connection))
            .filter(link::Column::RepositoryId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        links.extend(rows);
    }
    Ok(links)
}

/// Records that `connection` lists `repositories` (new links, or links listed again).
pub(crate) async fn set_listed<C: ConnectionTrait>(
    db: &C,
    connection: Uuid,
    repositories: &[Uuid],
) -> Result<(), DbErr> {
    write_links(db, connection, repositories.iter().map(|id| (*id, true))).await
}

/// Writes `connection`'s links to `(repository, listed)`, new or not (a link keeps the date it
/// was first made).
async fn write_links<C: ConnectionTrait>(
    db: &C,
    connection: Uuid,
    links: impl Iterator<Item = (Uuid, bool)>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let links: Vec<(Uuid, bool)> = links.collect();
    for chunk in links.chunks(LINK_CHUNK) {
        link::Entity::insert_many(chunk.iter().map(|(id, listed)| link::ActiveModel {
            connection_id: Set(connection),
            repository_id: Set(*id),
            listed: Set(*listed),
            linked_at: Set(now),
        }))
        .on_conflict(
            OnConflict::columns([link::Column::ConnectionId, link::Column::RepositoryId])
                .update_column(link::Column::Listed)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Locks the rows of `repositories`, in id order, until the transaction ends (PostgreSQL).
/// Every write that decides a repository's state from its links takes these locks first, so two
/// connections deciding about one repository take turns, each seeing the other's links once it
/// has committed (without them, each could read the other's link as still listed, and a
/// repository nobody lists would stay `ACTIVE`). SQLite has one writer at a time already, and
/// a read leading a transaction would only risk a stale snapshot, so nothing is read there.
pub(crate) async fn lock_repositories<C: ConnectionTrait>(
    db: &C,
    repositories: impl IntoIterator<Item = Uuid>,
) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = repositories.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(LINK_CHUNK) {
        repository::Entity::find()
            .select_only()
            .column(repository::Column::Id)
            .filter(repository::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(repository::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(db)
            .await?;
    }
    Ok(())
}

/// Makes the repositories a connection (again) lists `ACTIVE`, with the scan flag they had
/// before they were detached, whatever another connection decided since they were read.
pub(crate) async fn revive<C: ConnectionTrait>(db: &C, repositories: &[Uuid]) -> Result<(), DbErr> {
    for chunk in repositories.chunks(LINK_CHUNK) {
        forget_detached(repository::Entity::update_many())
            .col_expr(
                repository::Column::State,
                Expr::value(RepositoryState::Active),
            )
            .col_expr(
                repository::Column::ScanEnabled,
                Expr::col(repository::Column::DetachedScanEnabled)
                    .if_null(Expr::col(repository::Column::ScanEnabled)),
            )
            .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
            .filter(repository::Column::Id.is_in(chunk.iter().copied()))
            .filter(repository::Column::State.ne(RepositoryState::Active))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Clears what a detached repository remembered for its re-attach (the SET expressions read
/// the old values, so the same update may still use them).
fn forget_detached(update: UpdateMany<repository::Entity>) -> UpdateMany<repository::Entity> {
    update
        .col_expr(
            repository::Column::DetachedState,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            repository::Column::DetachedScanEnabled,
            Expr::value(Option::<bool>::None),
        )
}

/// Takes `conn`'s row for this transaction before its links are read: on PostgreSQL a lock
/// that a page being written for it (whose links refer to the row) must wait for; on SQLite the
/// write lock, so no other write can slip in between the reads and the writes that follow.
async fn hold_connection<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        connection::Entity::update_many()
            .col_expr(
                connection::Column::UpdatedAt,
                Expr::col(connection::Column::UpdatedAt),
            )
            .filter(connection::Column::Id.eq(conn.id))
            .exec(db)
            .await?;
    } else {
        connection::Entity::find_by_id(conn.id)
            .select_only()
            .column(connection::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
    }
    Ok(())
}

/// The repositories `connection` has a link to, listed or not, selecting `(id, full name)`.
fn linked_to(connection: Uuid) -> sea_orm::Select<repository::Entity> {
    repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .column(repository::Column::FullName)
        .join(JoinType::InnerJoin, link::Relation::Repository.def().rev())
        .filter(link::Column::ConnectionId.eq(connection))
}

/// The repositories `connection` lists, selecting `(id, full name)`.
pub fn listed_by(connection: Uuid) -> sea_orm::Select<repository::Entity> {
    linked_to(connection).filter(link::Column::Listed.eq(true))
}

/// `connection` no longer lists `repositories`; those no other connection lists are gone.
/// Returns the gone ones. Runs inside the caller's transaction.
pub(crate) async fn unlist<C: ConnectionTrait>(
    db: &C,
    connection: Uuid,
    mut repositories: Vec<(Uuid, String)>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    repositories.sort_unstable_by_key(|(id, _)| *id);
    lock_repositories(db, repositories.iter().map(|(id, _)| *id)).await?;
    let mut gone = Vec::new();
    for chunk in repositories.chunks(LINK_CHUNK) {
        let ids = || chunk.iter().map(|(id, _)| *id);
        link::Entity::update_many()
            .col_expr(link::Column::Listed, Expr::value(false))
            .filter(link::Column::ConnectionId.eq(connection))
            .filter(link::Column::RepositoryId.is_in(ids()))
            .exec(db)
            .await?;
        let still_listed: HashSet<Uuid> = link::Entity::find()
            .select_only()
            .column(link::Column::RepositoryId)
            .filter(link::Column::RepositoryId.is_in(ids()))
            .filter(link::Column::Listed.eq(true))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let now_gone: Vec<(Uuid, String)> = chunk
            .iter()
            .filter(|(id, _)| !still_listed.contains(id))
            .cloned()
            .collect();
        if now_gone.is_empty() {
            continue;
        }
        set_gone(db, &now_gone).await?;
        gone.extend(now_gone);
    }
    Ok(gone)
}

/// Marks `repositories` gone.
async fn set_gone<C: ConnectionTrait>(
    db: &C,
    repositories: &[(Uuid, String)],
) -> Result<(), DbErr> {
    repository::Entity::update_many()
        .col_expr(
            repository::Column::State,
            Expr::value(RepositoryState::Gone),
        )
        .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
        .filter(repository::Column::Id.is_in(repositories.iter().map(|(id, _)| *id)))
        .exec(db)
        .await?;
    Ok(())
}

/// What deleting a connection did to the repositories it covered, as `(id, full name)`.
#[derive(Debug, Default)]
pub struct Released {
    /// No connection covers them any more: `DETACHED`, scanning off, findings kept.
    pub detached: Vec<(Uuid, String)>,
    /// Other connections cover them but none lists them: `GONE`.
    pub gone: Vec<(Uuid, String)>,
}

/// Removes `conn`'s links before it is deleted: repositories another connection lists stay as
/// they are; those no other connection covers become `DETACHED`, remembering their state, scan
/// flag and `conn`'s scope so connecting the scope again re-attaches them. Runs inside the
/// caller's transaction.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<Released, DbErr> {
    hold_connection(db, conn).await?;
    let covered: Vec<(Uuid, String)> = linked_to(conn.id)
        .filter(repository::Column::OrganizationId.eq(conn.organization_id))
        .into_tuple()
        .all(db)
        .await?;
    lock_repositories(db, covered.iter().map(|(id, _)| *id)).await?;
    link::Entity::delete_many()
        .filter(link::Column::ConnectionId.eq(conn.id))
        .exec(db)
        .await?;
    let mut released = Released::default();
    for chunk in covered.chunks(LINK_CHUNK) {
        let ids = || chunk.iter().map(|(id, _)| *id);
        // What still covers each: any link, and whether one is listed.
        let mut others: HashMap<Uuid, bool> = HashMap::new();
        let rows: Vec<(Uuid, bool)> = link::Entity::find()
            .select_only()
            .column(link::Column::RepositoryId)
            .column(link::Column::Listed)
            .filter(link::Column::RepositoryId.is_in(ids()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, listed) in rows {
            *others.entry(id).or_default() |= listed;
        }
        let (detached, gone): (Vec<_>, Vec<_>) = chunk
            .iter()
            .filter(|(id, _)| others.get(id) != Some(&true))
            .cloned()
            .partition(|(id, _)| !others.contains_key(id));
        if !detached.is_empty() {
            repository::Entity::update_many()
                .col_expr(
                    repository::Column::DetachedState,
                    Expr::col(repository::Column::State),
                )
                .col_expr(
                    repository::Column::DetachedScanEnabled,
                    Expr::col(repository::Column::ScanEnabled),
                )
                .col_expr(repository::Column::ScopeKey, Expr::value(&conn.scope_key))
                .col_expr(
                    repository::Column::State,
                    Expr::value(RepositoryState::Detached),
                )
                .col_expr(repository::Column::ScanEnabled, Expr::value(false))
                .filter(repository::Column::Id.is_in(detached.iter().map(|(id, _)| *id)))
                .exec(db)
                .await?;
        }
        // Listed only by `conn`, and the others that cover it completed listings without it.
        let gone: Vec<(Uuid, String)> = if gone.is_empty() {
            gone
        } else {
            let active: HashSet<Uuid> = repository::Entity::find()
                .select_only()
                .column(repository::Column::Id)
                .filter(repository::Column::Id.is_in(gone.iter().map(|(id, _)| *id)))
                .filter(repository::Column::State.eq(RepositoryState::Active))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
                .into_iter()
                .collect();
            gone.into_iter()
                .filter(|(id, _)| active.contains(id))
                .collect()
        };
        if !gone.is_empty() {
            set_gone(db, &gone).await?;
        }
        released.detached.extend(detached);
        released.gone.extend(gone);
    }
    Ok(released)
}

/// Re-attaches `organization`'s detached repositories of `scope_key` (left by an earlier
/// connection to the same scope) to `connection`, with the state and scan flag they had; the
/// next complete discovery decides what is still there. Returns how many.
pub async fn reattach<C: ConnectionTrait>(
    db: &C,
    organization: Uuid,
    scope_key: &str,
    connection: Uuid,
) -> Result<u64, DbErr> {
    let detached: Vec<(Uuid, Option<RepositoryState>)> = repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .column(repository::Column::DetachedState)
        .filter(repository::Column::OrganizationId.eq(organization))
        .filter(repository::Column::ScopeKey.eq(scope_key))
        .filter(repository::Column::State.eq(RepositoryState::Detached))
        .into_tuple()
        .all(db)
        .await?;
    // Listed again if they were active when they were detached.
    write_links(
        db,
        connection,
        detached.iter().map(|(id, state)| {
            (
                *id,
                state.unwrap_or(RepositoryState::Active) == RepositoryState::Active,
            )
        }),
    )
    .await?;
    for chunk in detached.chunks(LINK_CHUNK) {
        forget_detached(repository::Entity::update_many())
            .col_expr(
                repository::Column::State,
                Expr::col(repository::Column::DetachedState).if_null(RepositoryState::Active),
            )
            .col_expr(
                repository::Column::ScanEnabled,
                Expr::col(repository::Column::DetachedScanEnabled).if_null(true),
            )
            .filter(repository::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            // One another connection listed meanwhile is that one's, as it is.
            .filter(repository::Column::State.eq(RepositoryState::Detached))
            .exec(db)
            .await?;
    }
    Ok(detached.len() as u64)
}
