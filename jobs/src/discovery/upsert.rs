//! Writing listed repositories: one page at a time, inserting new ones in a batch and updating
//! only rows whose metadata changed, keyed by (organization, host, provider id), and linking
//! each to the connection that listed it. Connections whose scopes overlap share rows: a
//! repository is `ACTIVE` while any connection lists it and `GONE` once none does.

use super::links::{links_of, listed_by, lock_repositories, revive, set_listed, unlist};
use crate::providers::RemoteRepository;
use chrono::Utc;
use entities::{RepositoryState, Visibility, connection, repository};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set, TransactionSession, TransactionTrait, TryInsertResult,
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
fn differs(row: &repository::Model, remote: &RemoteRepository) -> bool {
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
}

/// Sets what a listing says on a row, which comes back `ACTIVE`.
fn apply(active: &mut repository::ActiveModel, remote: &RemoteRepository) {
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
    mark_active(active);
}

/// A row listed again is `ACTIVE`, and whatever it kept for a re-attach is spent.
fn mark_active(active: &mut repository::ActiveModel) {
    active.state = Set(RepositoryState::Active);
    active.detached_state = Set(None);
    active.detached_scan_enabled = Set(None);
    active.refreshed_at = Set(Utc::now());
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
        scope_key: Set(conn.scope_key.clone()),
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
    apply(&mut row, remote);
    row
}

/// How a write merges what the provider said into a known row.
#[derive(Debug, Clone, Copy)]
enum Merge {
    /// A listing: the provider's whole view of the repository.
    Listing,
    /// An announcement (a GitHub installation was granted the repository): names, URLs and
    /// visibility, the rest kept until the next discovery lists it.
    Announcement,
}

impl Merge {
    /// The update `remote` calls for on `row`, if any.
    fn update(
        self,
        row: &repository::Model,
        remote: &RemoteRepository,
    ) -> Option<repository::ActiveModel> {
        match self {
            Merge::Listing => differs(row, remote).then(|| {
                let mut active: repository::ActiveModel = row.clone().into();
                apply(&mut active, remote);
                active
            }),
            Merge::Announcement => {
                // A private flag cannot tell `INTERNAL` from `PRIVATE`.
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
                    && row.state == RepositoryState::Active;
                (!same).then(|| {
                    let mut active: repository::ActiveModel = row.clone().into();
                    active.name = Set(remote.name.clone());
                    active.full_name = Set(remote.full_name.clone());
                    active.web_url = Set(web_url);
                    active.clone_url = Set(clone_url);
                    active.visibility = Set(visibility);
                    mark_active(&mut active);
                    active
                })
            }
        }
    }
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
    /// Changed rows (their metadata or state, or the connection newly lists them).
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
    let (page_counters, changes) = merge(db, conn, page, Merge::Listing).await?;
    counters.added += page_counters.added;
    counters.updated += page_counters.updated;
    counters.unchanged += page_counters.unchanged;
    Ok(changes)
}

/// Upserts repositories a provider announced rather than listed (a GitHub installation was
/// granted them): new rows get what the announcement has; known rows come back `ACTIVE`,
/// listed by `conn`, with its names and URLs, keeping what the announcement lacks (default
/// branch, topics, fork, an `INTERNAL` visibility a private flag cannot tell) until the next
/// discovery lists them. Runs inside the caller's transaction.
pub async fn upsert_announced<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    conn: &connection::Model,
    announced: Vec<RemoteRepository>,
) -> Result<(Counters, PageChanges), DbErr> {
    let mut seen = HashSet::new();
    let announced: Vec<RemoteRepository> = announced
        .into_iter()
        .filter(|r| seen.insert(r.external_id.clone()))
        .map(RemoteRepository::with_safe_urls)
        .collect();
    merge(db, conn, announced, Merge::Announcement).await
}

/// Inserts `fresh` rows, skipping any another connection's run inserted since they were looked
/// up (overlapping scopes list the same repositories); returns the ids it inserted.
async fn insert_new<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    fresh: &[(Uuid, RemoteRepository)],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut ids = HashSet::new();
    // About 25 parameters a row: 500 rows stay far below SQLite's limit whatever a GitHub
    // webhook announces.
    for chunk in fresh.chunks(500) {
        let inserted = repository::Entity::insert_many(
            chunk.iter().map(|(id, remote)| new_row(*id, remote, conn)),
        )
        .on_conflict_do_nothing_on([
            repository::Column::ExternalId,
            repository::Column::Host,
            repository::Column::OrganizationId,
        ])
        .exec_without_returning(db)
        .await?;
        let chunk_ids = chunk.iter().map(|(id, _)| *id);
        match inserted {
            TryInsertResult::Inserted(count) if count as usize == chunk.len() => {
                ids.extend(chunk_ids)
            }
            _ => ids.extend(
                repository::Entity::find()
                    .select_only()
                    .column(repository::Column::Id)
                    .filter(repository::Column::Id.is_in(chunk_ids))
                    .into_tuple::<Uuid>()
                    .all(db)
                    .await?,
            ),
        }
    }
    Ok(ids)
}

/// Merges what the provider said of `remotes` into the organization's rows and records that
/// `conn` lists them: new rows in one batch, changed rows one by one, links in batches, all in
/// one transaction (a savepoint inside the caller's); rows and links as they were cost reads only.
async fn merge<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    conn: &connection::Model,
    mut remotes: Vec<RemoteRepository>,
    how: Merge,
) -> Result<(Counters, PageChanges), DbErr> {
    let mut counters = Counters::default();
    let mut changes = PageChanges::default();
    if remotes.is_empty() {
        return Ok((counters, changes));
    }
    // Two runs inserting the same repositories do it in one order: neither waits on the other
    // while holding what the other waits for.
    remotes.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let rows = existing(db, conn, &remotes).await?;
    let links = links_of(db, conn.id, rows.values().map(|r| r.id).collect()).await?;
    let mut fresh = Vec::new();
    let mut updates = Vec::new();
    let mut listed = Vec::new();
    for remote in remotes {
        let Some(row) = rows.get(&remote.external_id) else {
            fresh.push((entities::new_id(), remote));
            continue;
        };
        let update = how.update(row, &remote);
        let newly_listed = links.get(&row.id) != Some(&true);
        if update.is_none() && !newly_listed {
            counters.unchanged += 1;
            continue;
        }
        updates.extend(update);
        if newly_listed {
            listed.push(row.id);
        }
        changes.updated.push((row.id, remote.full_name));
    }
    if fresh.is_empty() && updates.is_empty() && listed.is_empty() {
        return Ok((counters, changes));
    }
    let txn = db.begin().await?;
    let inserted = insert_new(&txn, conn, &fresh).await?;
    let mut raced = Vec::new();
    for (id, remote) in fresh {
        if inserted.contains(&id) {
            listed.push(id);
            changes.added.push((id, remote.full_name));
        } else {
            raced.push(remote);
        }
    }
    // Rows another connection's run inserted meanwhile are merged like any known row.
    if !raced.is_empty() {
        let rows = existing(&txn, conn, &raced).await?;
        for remote in raced {
            if let Some(row) = rows.get(&remote.external_id) {
                updates.extend(how.update(row, &remote));
                listed.push(row.id);
                changes.updated.push((row.id, remote.full_name));
            }
        }
    }
    // Known rows: whatever another connection decided about them since they were read, they are
    // listed now, so they are `ACTIVE` (with their remembered scan flag, if they were detached).
    let known: Vec<Uuid> = changes.updated.iter().map(|(id, _)| *id).collect();
    lock_repositories(&txn, known.iter().copied()).await?;
    revive(&txn, &known).await?;
    for active in updates {
        active.update(&txn).await?;
    }
    set_listed(&txn, conn.id, &listed).await?;
    txn.commit().await?;
    counters.added = changes.added.len() as i64;
    counters.updated = changes.updated.len() as i64;
    Ok((counters, changes))
}

/// After a complete listing: `conn` no longer lists the repositories it listed and did not
/// list this time. Returns those that are now gone, as `(id, full name)`.
pub async fn mark_gone(
    db: &DatabaseConnection,
    conn: &connection::Model,
    seen: &HashSet<String>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    let listed: Vec<(Uuid, String, String)> = listed_by(conn.id)
        .column(repository::Column::ExternalId)
        .into_tuple()
        .all(db)
        .await?;
    let unlisted: Vec<(Uuid, String)> = listed
        .into_iter()
        .filter(|(_, _, external)| !seen.contains(external))
        .map(|(id, full_name, _)| (id, full_name))
        .collect();
    if unlisted.is_empty() {
        return Ok(unlisted);
    }
    let txn = db.begin().await?;
    let gone = unlist(&txn, conn.id, unlisted).await?;
    txn.commit().await?;
    Ok(gone)
}

/// `conn` no longer lists exactly these repositories (the provider said it lost access to
/// them, so no listing is needed); links of other connections are left alone, and a repository
/// another connection still lists stays `ACTIVE`. Returns those now gone, as `(id, full name)`.
/// Runs inside the caller's transaction.
pub async fn mark_removed<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    external_ids: Vec<String>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let unlisted: Vec<(Uuid, String)> = listed_by(conn.id)
        .filter(repository::Column::OrganizationId.eq(conn.organization_id))
        .filter(repository::Column::Host.eq(&conn.host))
        .filter(repository::Column::ExternalId.is_in(external_ids))
        .into_tuple()
        .all(db)
        .await?;
    unlist(db, conn.id, unlisted).await
}
