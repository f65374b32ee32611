//! Listing the repositories of a GitHub App installation, pages fetched concurrently once the
//! first page gives the total.

use super::GitHub;
use crate::http::{FetchError, Fetcher};
use crate::providers::RemoteRepository;
use crate::providers::paged::{Cursor, Page, PagedSource};
use chrono::{DateTime, Utc};
use entities::Visibility;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// GitHub's largest page.
const PER_PAGE: u64 = 100;

#[derive(Deserialize)]
struct Listing {
    total_count: u64,
    #[serde(default)]
    repositories: Vec<Repository>,
}

/// A repository as GitHub lists it.
#[derive(Deserialize)]
pub(super) struct Repository {
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
    disabled: bool,
    #[serde(default)]
    fork: bool,
    language: Option<String>,
    /// Already in KiB.
    size: Option<i64>,
    #[serde(default)]
    topics: Vec<String>,
    pushed_at: Option<DateTime<Utc>>,
}

/// A repository's visibility from GitHub's `visibility` field, or its `private` flag where the
/// field is absent (webhook payloads of added repositories have only the flag).
pub(super) fn visibility(visibility: Option<&str>, private: bool) -> Visibility {
    match (visibility, private) {
        (Some("internal"), _) => Visibility::Internal,
        (Some("public"), _) | (None, false) => Visibility::Public,
        _ => Visibility::Private,
    }
}

impl From<Repository> for RemoteRepository {
    fn from(r: Repository) -> Self {
        let visibility = visibility(r.visibility.as_deref(), r.private);
        Self {
            external_id: r.id.to_string(),
            name: r.name,
            full_name: r.full_name,
            web_url: r.html_url,
            clone_url: r.clone_url,
            default_branch: r.default_branch,
            visibility,
            archived: r.archived,
            disabled: r.disabled,
            fork: r.fork,
            language: r.language,
            size_kb: r.size,
            topics: r.topics,
            last_pushed_at: r.pushed_at,
        }
    }
}

/// One listing of one installation, with its access token.
pub(super) struct InstallationLister<'a> {
    pub github: &'a GitHub,
    pub token: &'a SecretString,
    pub http: &'a Fetcher,
}

impl PagedSource for InstallationLister<'_> {
    type Item = Repository;

    async fn fetch(&self, cursor: Cursor) -> Result<Page<Repository>, FetchError> {
        let Cursor::Number(n) = cursor else {
            return Err(FetchError::Protocol(
                "GitHub pages are addressed by number".into(),
            ));
        };
        let url = format!(
            "{}/installation/repositories?per_page={PER_PAGE}&page={n}",
            self.github.api()
        );
        let request = self
            .github
            .request(reqwest::Method::GET, &url, self.token.expose_secret());
        let (listing, _): (Listing, _) = self.http.json(request).await?;
        Ok(Page {
            items: listing.repositories,
            total_pages: Some(listing.total_count.div_ceil(PER_PAGE)),
            next: None,
        })
    }
}
