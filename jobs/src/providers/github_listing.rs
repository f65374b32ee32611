//! Listing the repositories of a GitHub App installation, pages fetched concurrently once the
//! first page gives the total.

use crate::fetch::{FetchError, Fetcher};
use crate::listing::{PageSink, RemoteRepository};
use crate::providers::deliver;
use chrono::{DateTime, Utc};
use entities::Visibility;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

const CONCURRENT_PAGES: usize = 4;
const PER_PAGE: u64 = 100;

#[derive(Deserialize)]
struct Page {
    total_count: u64,
    #[serde(default)]
    repositories: Vec<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    id: u64,
    name: String,
    full_name: String,
    #[serde(default)]
    private: bool,
    visibility: Option<String>,
    html_url: Option<String>,
    clone_url: Option<String>,
    default_branch: Option<String>,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    fork: bool,
    language: Option<String>,
    /// Already in KiB.
    size: Option<i64>,
    #[serde(default)]
    topics: Vec<String>,
    pushed_at: Option<DateTime<Utc>>,
}

impl From<Repository> for RemoteRepository {
    fn from(r: Repository) -> Self {
        let visibility = match (r.visibility.as_deref(), r.private) {
            (Some("internal"), _) => Visibility::Internal,
            (Some("public"), _) | (None, false) => Visibility::Public,
            _ => Visibility::Private,
        };
        Self {
            external_id: r.id.to_string(),
            name: r.name,
            full_name: r.full_name,
            web_url: r.html_url,
            clone_url: r.clone_url,
            default_branch: r.default_branch,
            visibility,
            archived: r.archived,
            fork: r.fork,
            language: r.language,
            size_kb: r.size,
            topics: r.topics,
            last_pushed_at: r.pushed_at,
        }
    }
}

pub(super) struct InstallationLister<'a> {
    pub client: &'a reqwest::Client,
    pub api: &'a str,
    pub token: &'a str,
    pub fetcher: &'a Fetcher,
}

impl InstallationLister<'_> {
    async fn page(&self, n: u64) -> Result<Page, FetchError> {
        let request = self
            .client
            .get(format!(
                "{}/installation/repositories?per_page={PER_PAGE}&page={n}",
                self.api
            ))
            .bearer_auth(self.token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        self.fetcher.json(request).await.map(|(page, _)| page)
    }

    pub async fn run(&self, pages: &PageSink) -> Result<(), FetchError> {
        let first = self.page(1).await?;
        let total_pages = first.total_count.div_ceil(PER_PAGE);
        deliver(
            pages,
            first
                .repositories
                .into_iter()
                .map(RemoteRepository::from)
                .collect(),
        )
        .await?;
        futures::stream::iter(2..=total_pages)
            .map(|n| self.page(n))
            .buffer_unordered(CONCURRENT_PAGES)
            .try_for_each(|page| async move {
                deliver(
                    pages,
                    page.repositories
                        .into_iter()
                        .map(RemoteRepository::from)
                        .collect(),
                )
                .await
            })
            .await
    }
}
