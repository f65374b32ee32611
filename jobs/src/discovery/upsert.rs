//! Writing listed repositories: one page at a time, inserting new ones in a batch and updating
//! only rows whose metadata changed, keyed by (organization, host, provider id).

use crate::providers::RemoteRepository;
use chrono::Utc;
use entities::{RepositoryState, Visibility, connection, repository};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set, TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a run did to repository rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// New rows.
    pub added: i64,
    /// Rows whose metadata, state or connection changed.
    pub updated: i64,
    /// Rows listed as they were.
    pub unchanged: i64,
    /// Rows marked gone.
    pub gone: i64,
}

impl Counters {
    /// Whether the run changed anything.
    pub fn changed(&self) -> bool {
        self.added + self.updated + self.gone > 0
    }
}

fn topics_json(topics: &[String]) -> serde_json::Value {
    serde_json::Value::Array(
        topics
            .iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect(),
    )
}

/// Whether `row` differs from what the provider lists (fields the listing lacks are kept).
fn differs(row: &repository::Model, remote: &RemoteRepository, conn: &connection::Model) -> bool {
    row.name != remote.name
        || row.full_name != remote.full_name
        || row.web_url != remote.web_url
        || row.clone_url != remote.clone_url
        || row.default_branch != remote.default_branch
        || row.visibility != remote.visibility
        || row.archived != remote.archived
        || row.disabled != remote.disabled
        || row.fork != remote.fork
        || (remote.language.is_some() && row.language != remote.language)
        || (remote.size_kb.is_some() && row.size_kb != remote.size_kb)
        || row.topics != topics_json(&remote.topics)
        || (remote.last_pushed_at.is_some() && row.last_pushed_at != remote.last_pushed_at)
        || row.state != RepositoryState::Active
        || row.connection_id != Some(conn.id)
        || row.scope_key != conn.scope_key
}

fn apply(
    active: &mut repository::ActiveModel,
    remote: &RemoteRepository,
    conn: &connection::Model,
) {
    let now = Utc::now();
    active.connection_id = Set(Some(conn.id));
    active.scope_key = Set(conn.scope_key.clone());
    active.name = Set(remote.name.clone());
    active.full_name = Set(remote.full_name.clone());
    active.web_url = Set(remote.web_url.clone());
    active.clone_url = Set(remote.clone_url.clone());
    active.default_branch = Set(remote.default_branch.clone());
    active.visibility = Set(remote.visibility);
    active.archived = Set(remote.archived);
    active.disabled = Set(remote.disabled);
    active.fork = Set(remote.fork);
    if remote.language.is_some() {
        active.language = Set(remote.language.clone());
    }
    if remote.size_kb.is_some() {
        active.size_kb = Set(remote.size_kb);
    }
    active.topics = Set(topics_json(&remote.topics));
    if remote.last_pushed_at.is_some() {
        active.last_pushed_at = Set(remote.last_pushed_at);
    }
    active.state = Set(RepositoryState::Active);
    active.detached_state = Set(None);
    active.detached_scan_enabled = Set(None);
    active.refreshed_at = Set(now);
}

fn new_row(
    id: Uuid,
    remote: &RemoteRepository,
    conn: &connection::Model,
) -> repository::ActiveModel {
    let now = Utc::now();
    let mut row = repository::ActiveModel {
        id: Set(id),
        organization_id: Set(conn.organization_id),
        provider: Set(conn.provider),
        host: Set(conn.host.clone()),
        external_id: Set(remote.external_id.clone()),
        head_commit_sha: Set(None),
        etag: Set(None),
        scan_enabled: Set(true),
        first_seen_at: Set(now),
        language: Set(None),
        size_kb: Set(None),
        last_pushed_at: Set(None),
        ..Default::default()
    };
    apply(&mut row, remote, conn);
    row
}

/// The rows of `conn`'s organization and host for `repos`, by provider id.
async fn existing<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    repos: &[RemoteRepository],
) -> Result<HashMap<String, repository::Model>, DbErr> {
    let ids: Vec<String> = repos.iter().map(|r| r.external_id.clone()).collect();
    // Only the key index matches (provider id, host): while a first discovery fills the table
    // the statistics are stale, and a predicate on the organization would let PostgreSQL pick
    // the organization index and filter every repository of it for each page. The organization
    // is checked here instead (other organizations connecting the same scope are rare).
    Ok(repository::Entity::find()
        .filter(repository::Column::ExternalId.is_in(ids))
        .filter(repository::Column::Host.eq(&conn.host))
        .all(db)
        .await?
        .into_iter()
        .filter(|r| r.organization_id == conn.organization_id)
        .map(|r| (r.external_id.clone(), r))
        .collect())
}

/// The rows one page added and changed, `(id, full name)`, for live subscribers.
#[derive(Debug, Default)]
pub struct PageChanges {
    /// New rows.
    pub added: Vec<(Uuid, String)>,
    /// Changed rows.
    pub updated: Vec<(Uuid, String)>,
}

/// Upserts one listed page; `seen` collects provider ids across the run.
pub async fn upsert_page(
    db: &DatabaseConnection,
    conn: &connection::Model,
    page: Vec<RemoteRepository>,
    seen: &mut HashSet<String>,
    counters: &mut Counters,
) -> Result<PageChanges, DbErr> {
    // A repository listed twice in one run (pages shifting under us) counts once.
    let page: Vec<RemoteRepository> = page
        .into_iter()
        .filter(|r| seen.insert(r.external_id.clone()))
        .collect();
    let mut changes = PageChanges::default();
    if page.is_empty() {
        return Ok(changes);
    }
    let existing = existing(db, conn, &page).await?;
    let mut fresh = Vec::new();
    let mut changed = Vec::new();
    for remote in &page {
        match existing.get(&remote.external_id) {
            None => {
                let id = entities::new_id();
                changes.added.push((id, remote.full_name.clone()));
                fresh.push(new_row(id, remote, conn));
            }
            Some(row) if differs(row, remote, conn) => {
                let mut active: repository::ActiveModel = row.clone().into();
                apply(&mut active, remote, conn);
                changes.updated.push((row.id, remote.full_name.clone()));
                changed.push(active);
            }
            Some(_) => counters.unchanged += 1,
        }
    }
    counters.added += fresh.len() as i64;
    counters.updated += changed.len() as i64;
    if changed.is_empty() {
        // One statement is atomic on its own: no transaction's extra round trips.
        if !fresh.is_empty() {
            repository::Entity::insert_many(fresh).exec(db).await?;
        }
        return Ok(changes);
    }
    let txn = db.begin().await?;
    for active in changed {
        active.update(&txn).await?;
    }
    if !fresh.is_empty() {
        repository::Entity::insert_many(fresh).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(changes)
}

/// After a complete listing: marks the connection's active repositories that were not listed,
/// and returns them as `(id, full name)`.
pub async fn mark_gone(
    db: &DatabaseConnection,
    conn: &connection::Model,
    seen: &HashSet<String>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    let active: Vec<(Uuid, String, String)> = repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .column(repository::Column::ExternalId)
        .column(repository::Column::FullName)
        .filter(repository::Column::ConnectionId.eq(conn.id))
        .filter(repository::Column::State.eq(RepositoryState::Active))
        .into_tuple()
        .all(db)
        .await?;
    let gone: Vec<(Uuid, String)> = active
        .into_iter()
        .filter(|(_, external, _)| !seen.contains(external))
        .map(|(id, _, full_name)| (id, full_name))
        .collect();
    for chunk in gone.chunks(500) {
        repository::Entity::update_many()
            .col_expr(
                repository::Column::State,
                Expr::value(RepositoryState::Gone),
            )
            .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
            .filter(repository::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
    }
    Ok(gone)
}

/// Upserts repositories a provider announced rather than listed (a GitHub installation was
/// granted them): new rows get what the announcement has; known rows come back `ACTIVE` under
/// `conn` with its names and URLs, keeping what the announcement lacks (default branch,
/// topics, fork, an `INTERNAL` visibility a private flag cannot tell) until the next discovery
/// lists them. Runs inside the caller's transaction.
pub async fn upsert_announced<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    announced: Vec<RemoteRepository>,
) -> Result<(Counters, PageChanges), DbErr> {
    let mut seen = HashSet::new();
    let mut changes = PageChanges::default();
    let announced: Vec<RemoteRepository> = announced
        .into_iter()
        .filter(|r| seen.insert(r.external_id.clone()))
        .map(RemoteRepository::with_safe_urls)
        .collect();
    let mut counters = Counters::default();
    if announced.is_empty() {
        return Ok((counters, changes));
    }
    let existing = existing(db, conn, &announced).await?;
    let mut fresh = Vec::new();
    for remote in &announced {
        let Some(row) = existing.get(&remote.external_id) else {
            let id = entities::new_id();
            changes.added.push((id, remote.full_name.clone()));
            fresh.push(new_row(id, remote, conn));
            continue;
        };
        let visibility = match (row.visibility, remote.visibility) {
            (Visibility::Internal, Visibility::Private) => Visibility::Internal,
            (_, announced) => announced,
        };
        let web_url = remote.web_url.clone().or_else(|| row.web_url.clone());
        let clone_url = remote.clone_url.clone().or_else(|| row.clone_url.clone());
        let same = row.name == remote.name
            && row.full_name == remote.full_name
            && row.web_url == web_url
            && row.clone_url == clone_url
            && row.visibility == visibility
            && row.state == RepositoryState::Active
            && row.connection_id == Some(conn.id)
            && row.scope_key == conn.scope_key;
        if same {
            counters.unchanged += 1;
            continue;
        }
        let mut active: repository::ActiveModel = row.clone().into();
        active.connection_id = Set(Some(conn.id));
        active.scope_key = Set(conn.scope_key.clone());
        active.name = Set(remote.name.clone());
        active.full_name = Set(remote.full_name.clone());
        active.web_url = Set(web_url);
        active.clone_url = Set(clone_url);
        active.visibility = Set(visibility);
        active.state = Set(RepositoryState::Active);
        active.detached_state = Set(None);
        active.detached_scan_enabled = Set(None);
        active.refreshed_at = Set(Utc::now());
        active.update(db).await?;
        changes.updated.push((row.id, remote.full_name.clone()));
        counters.updated += 1;
    }
    counters.added = fresh.len() as i64;
    if !fresh.is_empty() {
        repository::Entity::insert_many(fresh).exec(db).await?;
    }
    Ok((counters, changes))
}

/// Marks exactly these repositories of `conn` gone (the provider said it lost access to them,
/// so no listing is needed); rows of other connections are left alone. Returns the ones that
/// were active, as `(id, full name)`.
pub async fn mark_removed<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    external_ids: Vec<String>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let active: Vec<(Uuid, String)> = repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .column(repository::Column::FullName)
        .filter(repository::Column::OrganizationId.eq(conn.organization_id))
        .filter(repository::Column::Host.eq(&conn.host))
        .filter(repository::Column::ExternalId.is_in(external_ids))
        .filter(repository::Column::ConnectionId.eq(conn.id))
        .filter(repository::Column::State.eq(RepositoryState::Active))
        .into_tuple()
        .all(db)
        .await?;
    if active.is_empty() {
        return Ok(active);
    }
    repository::Entity::update_many()
        .col_expr(
            repository::Column::State,
            Expr::value(RepositoryState::Gone),
        )
        .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
        .filter(repository::Column::Id.is_in(active.iter().map(|(id, _)| *id)))
        .exec(db)
        .await?;
    Ok(active)
}
