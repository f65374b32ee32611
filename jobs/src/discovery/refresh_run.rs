//! The metadata-refresh job: every active repository of a connection, a few at a time, each
//! asked conditionally; only rows whose head commit changed are written.

use super::{Discovery, stored_scope};
use crate::fetch::FetchError;
use crate::refresh::{HeadCommit, RepoRef};
use chrono::Utc;
use entities::{RepositoryState, connection, repository};
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Branch lookups in flight for one connection.
const CONCURRENT: usize = 8;

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
        let (scope, credential) =
            match stored_scope(&row).and_then(|s| Ok((s, self.credential(&row)?))) {
                Ok(prepared) => prepared,
                Err(message) => {
                    report.stopped = Some(message);
                    return Ok(report);
                }
            };
        let fetcher = self.fetcher(&row, credential.as_ref());
        let repositories = repository::Entity::find()
            .filter(repository::Column::ConnectionId.eq(row.id))
            .filter(repository::Column::State.eq(RepositoryState::Active))
            .filter(repository::Column::DefaultBranch.is_not_null())
            .all(&self.db)
            .await?;
        let provider = self.providers.for_scope(&scope);
        let (scope_ref, credential_ref, fetcher_ref) = (&scope, credential.as_ref(), &fetcher);
        let mut answers = futures::stream::iter(repositories)
            .map(|repo: repository::Model| async move {
                let reference = RepoRef {
                    external_id: &repo.external_id,
                    full_name: &repo.full_name,
                    default_branch: repo.default_branch.as_deref().unwrap_or_default(),
                    etag: repo.etag.as_deref(),
                };
                let answer = provider
                    .head_commit(scope_ref, credential_ref, fetcher_ref, reference)
                    .await;
                (repo, answer)
            })
            .buffer_unordered(CONCURRENT);
        while let Some((repo, answer)) = answers.next().await {
            report.checked += 1;
            match answer {
                Ok(HeadCommit::NotModified) => report.not_modified += 1,
                Ok(HeadCommit::Current { sha, etag }) => {
                    if repo.head_commit_sha.as_deref() != Some(sha.as_str()) || repo.etag != etag {
                        repository::Entity::update_many()
                            .col_expr(repository::Column::HeadCommitSha, Expr::value(sha))
                            .col_expr(repository::Column::Etag, Expr::value(etag))
                            .col_expr(repository::Column::RefreshedAt, Expr::value(Utc::now()))
                            .filter(repository::Column::Id.eq(repo.id))
                            .exec(&self.db)
                            .await?;
                        report.changed += 1;
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
}
