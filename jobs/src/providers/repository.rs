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
    /// Archived upstream (the provider's own archive flag).
    pub archived: bool,
    /// Disabled upstream: nobody can read it (Azure's `isDisabled`, GitHub's `disabled`).
    pub disabled: bool,
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
        .send(
            items
                .into_iter()
                .map(|item| item.into().with_safe_urls())
                .collect(),
        )
        .await
        .map_err(|_| FetchError::Protocol("the discovery job stopped reading pages".into()))
}

impl RemoteRepository {
    /// The repository with only `http(s)` web and clone URLs: a self-managed provider is
    /// untrusted, and a `javascript:` or `file:` URL must never reach a page that links it.
    pub fn with_safe_urls(mut self) -> Self {
        self.web_url = self.web_url.filter(|u| is_http(u));
        self.clone_url = self.clone_url.filter(|u| is_http(u));
        self
    }
}

fn is_http(href: &str) -> bool {
    url::Url::parse(href)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_kept() {
        let with = |url: &str| {
            RemoteRepository {
                external_id: "1".into(),
                name: "r".into(),
                full_name: "g/r".into(),
                web_url: Some(url.into()),
                clone_url: Some(url.into()),
                default_branch: None,
                visibility: Visibility::Private,
                archived: false,
                disabled: false,
                fork: false,
                language: None,
                size_kb: None,
                topics: vec![],
                last_pushed_at: None,
            }
            .with_safe_urls()
        };
        for kept in [
            "https://gitlab.example.com/g/r",
            "http://127.0.0.1:9900/g/r.git",
        ] {
            assert_eq!(with(kept).web_url.as_deref(), Some(kept));
        }
        for dropped in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "ssh://git@gitlab.example.com/g/r.git",
            "//gitlab.example.com/g/r",
            "not a url",
            "https://",
        ] {
            let repo = with(dropped);
            assert_eq!((repo.web_url, repo.clone_url), (None, None), "{dropped}");
        }
    }
}
