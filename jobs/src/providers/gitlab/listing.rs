//! Listing a GitLab group's projects (subgroups included): pages fetched concurrently when
//! GitLab says how many there are; over 10,000 projects it leaves the totals out, and
//! `x-next-page` is followed instead.

use super::{GitLab, GitlabGroup};
use crate::http::{FetchError, Fetcher};
use crate::providers::paged::{Cursor, Page, PagedSource};
use crate::providers::{Credential, RemoteRepository, segment};
use chrono::{DateTime, Utc};
use entities::Visibility;
use serde::Deserialize;

/// GitLab's largest page.
const PER_PAGE: u32 = 100;

/// A project as GitLab lists it.
#[derive(Deserialize)]
pub(super) struct Project {
    id: u64,
    name: String,
    path_with_namespace: String,
    web_url: Option<String>,
    http_url_to_repo: Option<String>,
    default_branch: Option<String>,
    visibility: Option<String>,
    #[serde(default)]
    archived: bool,
    forked_from_project: Option<serde_json::Value>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    tag_list: Vec<String>,
    last_activity_at: Option<DateTime<Utc>>,
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    repository_size: Option<i64>,
}

impl From<Project> for RemoteRepository {
    fn from(p: Project) -> Self {
        let visibility = match p.visibility.as_deref() {
            Some("public") => Visibility::Public,
            Some("internal") => Visibility::Internal,
            _ => Visibility::Private,
        };
        // `tag_list` is the pre-14.0 name of `topics`.
        let topics = if p.topics.is_empty() {
            p.tag_list
        } else {
            p.topics
        };
        Self {
            external_id: p.id.to_string(),
            name: p.name,
            full_name: p.path_with_namespace,
            web_url: p.web_url,
            clone_url: p.http_url_to_repo,
            default_branch: p.default_branch,
            visibility,
            archived: p.archived,
            disabled: false,
            fork: p.forked_from_project.is_some_and(|f| !f.is_null()),
            language: None,
            size_kb: p
                .statistics
                .and_then(|s| s.repository_size)
                .map(|b| b / 1024),
            topics,
            last_pushed_at: p.last_activity_at,
        }
    }
}

/// One listing of one group.
pub(super) struct GroupLister<'a> {
    pub gitlab: &'a GitLab,
    pub scope: &'a GitlabGroup,
    pub credential: &'a Credential,
    pub http: &'a Fetcher,
}

fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl PagedSource for GroupLister<'_> {
    type Item = Project;

    async fn fetch(&self, cursor: Cursor) -> Result<Page<Project>, FetchError> {
        // Pages are addressed by number on our own base URL; provider-sent Link URLs are never
        // followed, so a response cannot steer the token elsewhere.
        let Cursor::Number(page) = cursor else {
            return Err(FetchError::Protocol(
                "GitLab pages are addressed by number".into(),
            ));
        };
        let group = self.scope.group.as_str();
        let path = format!(
            "groups/{}/projects?include_subgroups=true&with_shared=false&statistics=true\
             &order_by=id&sort=asc&per_page={PER_PAGE}&page={page}",
            segment(group),
        );
        let request = self
            .gitlab
            .get(self.scope.instance.as_ref(), &path, self.credential);
        let (items, headers) = self
            .http
            .json(request)
            .await
            .map_err(|e| e.scope_gone(|| format!("group {group:?}")))?;
        Ok(Page {
            items,
            total_pages: header_number(&headers, "x-total-pages"),
            next: header_number(&headers, "x-next-page").map(Cursor::Number),
        })
    }
}
