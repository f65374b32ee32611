//! The metadata-refresh job: the head commit of each repository's default branch, asked with
//! `If-None-Match` so an unchanged branch costs a 304 and writes nothing. Every active
//! repository of a connection, a few at a time; only rows whose head commit changed are
//! written. Repositories are read in chunks by id and each chunk's changes are written in one
//! transaction, so memory stays flat whatever the connection's size and the database sees one
//! commit per chunk.

use crate::discovery::Discovery;
use crate::http::FetchError;
use crate::providers::{HeadCommit, RepoRef};
use chrono::Utc;
use entities::repository_connection as link;
use entities::{connection, repository};
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    TransactionTrait,
};
use std::time::Duration;
use uuid::Uuid;

/// Branch lookups in flight for one connection.
const CONCURRENT: usize = 8;

/// Repositories read (and their changes written) at a time.
const CHUNK: u64 = 500;

/// The longest a refresh waits, before each chunk, for this process's discoveries to finish.
const GIVE_WAY_AT_MOST: Duration = Duration::from_secs(60);

/// The columns a refresh needs: id, provider id, full name, branch, ETag, head commit.
type Target = (Uuid, String, String, String, Option<String>, Option<String>);

/// What a refresh did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    /// Repositories asked about.
    pub checked: u64,
    /// Answered 304 (nothing written).
    pub not_modified: u64,
    /// Rows written because the head commit changed.
    pub changed: u64,
    /// Requests sent.
    pub api_requests: u64,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
}

impl Discovery {
    /// Refreshes the head commit of every active repository of `connection_id`.
    pub async fn refresh(&self, connection_id: Uuid) -> Result<RefreshReport, DbErr> {
        let mut report = RefreshReport::default();
        let Some(row) = connection::Entity::find_by_id(connection_id)
            .one(&self.db)
            .await?
        else {
            return Ok(report);
        };
        let (scope, credential) = match self.prepare(&row) {
            Ok(prepared) => prepared,
            Err(err) => {
                report.stopped = Some(err.to_string());
                return Ok(report);
            }
        };
        let fetcher = self.fetcher(&row, credential.as_ref());
        let providers = &self.providers;
        let (scope_ref, credential_ref, fetcher_ref) = (&scope, credential.as_ref(), &fetcher);
        let mut after: Option<Uuid> = None;
        loop {
            self.activity.quiet(GIVE_WAY_AT_MOST).await;
            let mut query = repository::Entity::find()
                .select_only()
                .columns([
                    repository::Column::Id,
                    repository::Column::ExternalId,
                    repository::Column::FullName,
                    repository::Column::DefaultBranch,
                    repository::Column::Etag,
                    repository::Column::HeadCommitSha,
                ])
                .join(JoinType::InnerJoin, link::Relation::Repository.def().rev())
                .filter(link::Column::ConnectionId.eq(row.id))
                .filter(link::Column::Listed.eq(true))
                // Nobody can read a disabled repository: asking would only earn an error.
                .filter(repository::Column::Disabled.eq(false))
                .filter(repository::Column::DefaultBranch.is_not_null())
                .order_by_asc(repository::Column::Id)
                .limit(CHUNK);
            if let Some(last) = after {
                query = query.filter(repository::Column::Id.gt(last));
            }
            let chunk: Vec<Target> = query.into_tuple().all(&self.db).await?;
            let Some(last) = chunk.last() else {
                break;
            };
            after = Some(last.0);
            let full = chunk.len() as u64 == CHUNK;
            let mut answers = futures::stream::iter(chunk)
                .map(|target: Target| async move {
                    let (_, external_id, full_name, branch, etag, _) = &target;
                    let reference = RepoRef {
                        external_id,
                        full_name,
                        default_branch: branch,
                        etag: etag.as_deref(),
                    };
                    let answer = providers
                        .head_commit(scope_ref, credential_ref, fetcher_ref, reference)
                        .await;
                    (target, answer)
                })
                .buffer_unordered(CONCURRENT);
            let mut changes = Vec::new();
            while let Some(((id, _, _, _, old_etag, old_sha), answer)) = answers.next().await {
                report.checked += 1;
                match answer {
                    Ok(HeadCommit::NotModified) => report.not_modified += 1,
                    Ok(HeadCommit::Current { sha, etag }) => {
                        if old_sha.as_deref() != Some(sha.as_str()) || old_etag != etag {
                            changes.push((id, sha, etag));
                        }
                    }
                    // A branch that vanished is the next discovery's business.
                    Err(FetchError::NotFound(_)) => {}
                    Err(err) => {
                        report.stopped = Some(err.to_string());
                        break;
                    }
                }
            }
            drop(answers);
            report.changed += changes.len() as u64;
            self.write_heads(changes).await?;
            if report.stopped.is_some() || !full {
                break;
            }
        }
        report.api_requests = fetcher.stats().requests();
        tracing::info!(
            connection = %row.id,
            checked = report.checked,
            not_modified = report.not_modified,
            changed = report.changed,
            "metadata refresh finished"
        );
        Ok(report)
    }

    /// Writes new head commits and ETags in one transaction.
    async fn write_heads(&self, changes: Vec<(Uuid, String, Option<String>)>) -> Result<(), DbErr> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let txn = self.db.begin().await?;
        for (id, sha, etag) in changes {
            repository::Entity::update_many()
                .col_expr(repository::Column::HeadCommitSha, Expr::value(sha))
                .col_expr(repository::Column::Etag, Expr::value(etag))
                .col_expr(repository::Column::RefreshedAt, Expr::value(now))
                .filter(repository::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await
    }
}
