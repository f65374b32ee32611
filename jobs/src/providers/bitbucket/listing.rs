//! Listing a Bitbucket Cloud workspace's repositories; pages fetched concurrently once the
//! first page says how many repositories there are.

use super::{Bitbucket, WorkspaceId};
use crate::http::{FetchError, Fetcher};
use crate::providers::paged::{Cursor, Page, PagedSource};
use crate::providers::repository::strip_user;
use crate::providers::{Credential, RemoteRepository};
use chrono::{DateTime, Utc};
use entities::Visibility;
use serde::Deserialize;

/// Bitbucket's largest page.
const PAGELEN: u64 = 100;

#[derive(Deserialize)]
struct Listing {
    size: Option<u64>,
    next: Option<String>,
    #[serde(default)]
    values: Vec<Repository>,
}

/// A repository as Bitbucket lists it.
#[derive(Deserialize)]
pub(super) struct Repository {
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
            disabled: false,
            fork: r.parent.is_some_and(|p| !p.is_null()),
            language: r.language.filter(|l| !l.is_empty()),
            size_kb: r.size.map(|b| b / 1024),
            topics: Vec::new(),
            last_pushed_at: r.updated_on,
        }
    }
}

/// One listing of one workspace.
pub(super) struct WorkspaceLister<'a> {
    pub bitbucket: &'a Bitbucket,
    pub workspace: &'a WorkspaceId,
    pub credential: &'a Credential,
    pub http: &'a Fetcher,
}

impl PagedSource for WorkspaceLister<'_> {
    type Item = Repository;

    async fn fetch(&self, cursor: Cursor) -> Result<Page<Repository>, FetchError> {
        let url = match cursor {
            Cursor::Number(page) => self.bitbucket.url(&format!(
                "repositories/{}?pagelen={PAGELEN}&page={page}",
                self.workspace.as_str()
            )),
            // Bitbucket's own `next` link, followed only on the API's origin: a response must
            // not be able to send the credential elsewhere.
            Cursor::Url(url) => {
                let origin = self.bitbucket.api.origin();
                if !url::Url::parse(&url).is_ok_and(|u| u.origin() == origin) {
                    return Err(FetchError::Protocol(
                        "Bitbucket's next page points elsewhere".into(),
                    ));
                }
                url
            }
        };
        let request = self.bitbucket.get(&url, self.credential);
        let (listing, _): (Listing, _) = self
            .http
            .json(request)
            .await
            .map_err(|e| e.scope_gone(|| format!("workspace {:?}", self.workspace.as_str())))?;
        Ok(Page {
            items: listing.values,
            total_pages: listing.size.map(|size| size.div_ceil(PAGELEN)),
            next: listing.next.map(Cursor::Url),
        })
    }
}
