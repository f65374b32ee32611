//! Listing a Bitbucket Cloud workspace's repositories; pages fetched concurrently once the
//! first page says how many repositories there are.

use super::super::deliver;
use super::Bitbucket;
use crate::fetch::{FetchError, Fetcher};
use crate::listing::{PageSink, RemoteRepository, strip_user};
use crate::providers::Credential;
use chrono::{DateTime, Utc};
use entities::Visibility;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

const CONCURRENT_PAGES: usize = 4;
/// Bitbucket's largest page.
const PAGELEN: u64 = 100;

#[derive(Deserialize)]
struct Page {
    size: Option<u64>,
    next: Option<String>,
    #[serde(default)]
    values: Vec<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    uuid: String,
    name: String,
    full_name: String,
    #[serde(default)]
    is_private: bool,
    language: Option<String>,
    size: Option<i64>,
    updated_on: Option<DateTime<Utc>>,
    mainbranch: Option<Branch>,
    parent: Option<serde_json::Value>,
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Branch {
    name: String,
}

#[derive(Deserialize)]
struct Links {
    html: Option<Href>,
    #[serde(default)]
    clone: Vec<CloneLink>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize)]
struct CloneLink {
    name: String,
    href: String,
}

impl From<Repository> for RemoteRepository {
    fn from(r: Repository) -> Self {
        let (web_url, clone_url) = match r.links {
            Some(links) => (
                links.html.map(|h| h.href),
                links
                    .clone
                    .into_iter()
                    .find(|c| c.name == "https")
                    .map(|c| strip_user(&c.href)),
            ),
            None => (None, None),
        };
        Self {
            external_id: r.uuid,
            name: r.name,
            full_name: r.full_name,
            web_url,
            clone_url,
            default_branch: r.mainbranch.map(|b| b.name),
            visibility: if r.is_private {
                Visibility::Private
            } else {
                Visibility::Public
            },
            // Bitbucket Cloud has no archived repositories.
            archived: false,
            fork: r.parent.is_some_and(|p| !p.is_null()),
            language: r.language.filter(|l| !l.is_empty()),
            size_kb: r.size.map(|b| b / 1024),
            topics: Vec::new(),
            last_pushed_at: r.updated_on,
        }
    }
}

pub(super) struct WorkspaceLister<'a> {
    pub bitbucket: &'a Bitbucket,
    pub workspace: &'a str,
    pub credential: &'a Credential,
    pub fetcher: &'a Fetcher,
}

impl WorkspaceLister<'_> {
    fn url(&self, page: u64) -> String {
        format!(
            "{}/2.0/repositories/{}?pagelen={PAGELEN}&page={page}",
            self.bitbucket.api.as_str().trim_end_matches('/'),
            self.workspace
        )
    }

    async fn fetch(&self, url: String) -> Result<Page, FetchError> {
        let request = self
            .bitbucket
            .authorize(self.bitbucket.clients.trusted().get(url), self.credential);
        self.fetcher
            .json(request)
            .await
            .map(|(page, _)| page)
            .map_err(|e| match e {
                FetchError::NotFound(_) => FetchError::NotFound(format!(
                    "workspace {:?} no longer exists or the token cannot see it",
                    self.workspace
                )),
                other => other,
            })
    }

    pub async fn run(&self, pages: &PageSink) -> Result<(), FetchError> {
        let first = self.fetch(self.url(1)).await?;
        let (size, mut next) = (first.size, first.next.clone());
        deliver(
            pages,
            first
                .values
                .into_iter()
                .map(RemoteRepository::from)
                .collect(),
        )
        .await?;
        if let Some(size) = size {
            let total_pages = size.div_ceil(PAGELEN);
            return futures::stream::iter(2..=total_pages)
                .map(|n| self.fetch(self.url(n)))
                .buffer_unordered(CONCURRENT_PAGES)
                .try_for_each(|page| async move {
                    deliver(
                        pages,
                        page.values
                            .into_iter()
                            .map(RemoteRepository::from)
                            .collect(),
                    )
                    .await
                })
                .await;
        }
        // No total: follow `next`, but only on the API's own origin.
        let origin = self.bitbucket.api.origin();
        while let Some(url) = next.take() {
            let same_origin = url::Url::parse(&url).is_ok_and(|u| u.origin() == origin);
            if !same_origin {
                return Err(FetchError::Protocol(
                    "Bitbucket's next page points elsewhere".into(),
                ));
            }
            let page = self.fetch(url).await?;
            next = page.next.clone();
            deliver(
                pages,
                page.values
                    .into_iter()
                    .map(RemoteRepository::from)
                    .collect(),
            )
            .await?;
        }
        Ok(())
    }
}
