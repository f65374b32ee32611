//! What a provider lists about a repository, in one shape for all providers, and how listed
//! pages reach the discovery job.

use crate::http::FetchError;
use chrono::{DateTime, Utc};
use entities::Visibility;

/// One repository as its provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRepository {
    /// The provider's stable id (survives renames and transfers).
    pub external_id: String,
    /// Short name.
    pub name: String,
    /// Full path, e.g. `ghost/mygroup/api`.
    pub full_name: String,
    /// Web page.
    pub web_url: Option<String>,
    /// HTTPS clone URL.
    pub clone_url: Option<String>,
    /// Default branch.
    pub default_branch: Option<String>,
    /// Visibility.
    pub visibility: Visibility,
    /// Archived upstream.
    pub archived: bool,
    /// A fork.
    pub fork: bool,
    /// Main language, when the listing has it.
    pub language: Option<String>,
    /// Size in KiB, when the listing has it.
    pub size_kb: Option<i64>,
    /// Topics.
    pub topics: Vec<String>,
    /// Last push or activity.
    pub last_pushed_at: Option<DateTime<Utc>>,
}

/// Where listed pages go: the discovery job upserts each one as it arrives.
pub type PageSink = tokio::sync::mpsc::Sender<Vec<RemoteRepository>>;

/// Hands a page to the discovery job; a closed sink means the job stopped listening.
pub(crate) async fn deliver<T: Into<RemoteRepository>>(
    pages: &PageSink,
    items: Vec<T>,
) -> Result<(), FetchError> {
    if items.is_empty() {
        return Ok(());
    }
    pages
        .send(items.into_iter().map(Into::into).collect())
        .await
        .map_err(|_| FetchError::Protocol("the discovery job stopped reading pages".into()))
}

/// A clone URL without the user name providers put in it (`https://user@host/…`): it is not a
/// credential, but a stored clone URL should not carry anyone's name.
pub(crate) fn strip_user(href: &str) -> String {
    match url::Url::parse(href) {
        Ok(mut url) => {
            let _ = url.set_username("");
            url.to_string()
        }
        Err(_) => href.to_owned(),
    }
}
