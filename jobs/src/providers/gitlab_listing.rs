//! Listing a GitLab group's projects (subgroups included), pages fetched concurrently when
//! GitLab says how many there are.

use super::super::deliver;
use crate::fetch::{FetchError, Fetcher};
use crate::listing::{PageSink, RemoteRepository};
use chrono::{DateTime, Utc};
use entities::Visibility;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

/// Pages fetched at once for one connection.
const CONCURRENT_PAGES: usize = 4;
/// GitLab's largest page.
const PER_PAGE: u32 = 100;

#[derive(Deserialize)]
struct Project {
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
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub group: &'a str,
    pub token: &'a str,
    pub fetcher: &'a Fetcher,
}

fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u32> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl GroupLister<'_> {
    async fn page(
        &self,
        page: u32,
    ) -> Result<(Vec<Project>, reqwest::header::HeaderMap), FetchError> {
        // Pages are addressed by number on our own base URL; provider-sent Link URLs are never
        // followed, so a response cannot steer the token elsewhere.
        let url = format!(
            "{}/api/v4/groups/{}/projects?include_subgroups=true&with_shared=false&statistics=true\
             &order_by=id&sort=asc&per_page={PER_PAGE}&page={page}",
            self.base,
            self.group.replace('/', "%2F"),
        );
        let request = self.client.get(url).header("PRIVATE-TOKEN", self.token);
        self.fetcher.json(request).await.map_err(|e| match e {
            FetchError::NotFound(_) => FetchError::NotFound(format!(
                "group {:?} no longer exists or the token cannot see it",
                self.group
            )),
            other => other,
        })
    }

    pub async fn run(&self, pages: &PageSink) -> Result<(), FetchError> {
        let (first, headers) = self.page(1).await?;
        deliver(
            pages,
            first.into_iter().map(RemoteRepository::from).collect(),
        )
        .await?;
        match header_number(&headers, "x-total-pages") {
            // The page count is known: fetch the rest concurrently.
            Some(total) => {
                futures::stream::iter(2..=total)
                    .map(|n| self.page(n))
                    .buffer_unordered(CONCURRENT_PAGES)
                    .map_ok(|(projects, _)| projects)
                    .try_for_each(|projects| async move {
                        deliver(
                            pages,
                            projects.into_iter().map(RemoteRepository::from).collect(),
                        )
                        .await
                    })
                    .await
            }
            // Over 10,000 projects GitLab omits the totals: follow x-next-page one by one.
            None => {
                let mut next = header_number(&headers, "x-next-page");
                while let Some(n) = next {
                    let (projects, headers) = self.page(n).await?;
                    deliver(
                        pages,
                        projects.into_iter().map(RemoteRepository::from).collect(),
                    )
                    .await?;
                    next = header_number(&headers, "x-next-page").filter(|m| *m > n);
                }
                Ok(())
            }
        }
    }
}
