//! The events Tether acts on, as typed values.

use crate::providers::RemoteRepository;
use crate::providers::github::listing::visibility;
use crate::providers::github::{GitHubUser, InstallationId};
use entities::Visibility;
use serde::Deserialize;
use url::Url;

/// Longest event or action name kept, so `event.action` fits the delivery record (64).
const MAX_NAME: usize = 31;

/// What happened to an installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallationAction {
    /// Installed; `requester` is set when this completes a request an owner approved.
    Created {
        /// Who requested the installation.
        requester: Option<GitHubUser>,
    },
    /// Uninstalled.
    Deleted,
    /// Suspended by the account.
    Suspend,
    /// Unsuspended.
    Unsuspend,
    /// The account accepted new permissions the app asked for.
    NewPermissionsAccepted,
}

impl InstallationAction {
    /// The payload's `action`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Deleted => "deleted",
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::NewPermissionsAccepted => "new_permissions_accepted",
        }
    }
}

/// An `installation` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationEvent {
    /// The installation.
    pub installation: InstallationId,
    /// The account it is installed on (for messages).
    pub account: Option<String>,
    /// What happened.
    pub action: InstallationAction,
}

/// A repository as `installation_repositories` lists it: its id, names and private flag only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AnnouncedRepository {
    /// GitHub's stable id.
    pub id: u64,
    /// Short name.
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Private (or internal: the payload does not tell them apart).
    #[serde(default)]
    pub private: bool,
}

/// Web and clone URLs under GitHub's web host, as the listing's `html_url` and `clone_url` read.
fn repository_urls(github_web: &Url, full_name: &str) -> (Option<String>, Option<String>) {
    let mut web = github_web.clone();
    match web.path_segments_mut() {
        Ok(mut segments) => {
            segments.pop_if_empty().extend(full_name.split('/'));
        }
        Err(()) => return (None, None),
    }
    let clone = format!("{web}.git");
    (Some(web.to_string()), Some(clone))
}

impl AnnouncedRepository {
    /// What Tether can store of it before a discovery lists it: names, visibility from the
    /// private flag, URLs built under `github_web`; the rest waits for the next discovery.
    pub fn to_remote(&self, github_web: &Url) -> RemoteRepository {
        let (web_url, clone_url) = repository_urls(github_web, &self.full_name);
        RemoteRepository {
            external_id: self.id.to_string(),
            name: self.name.clone(),
            full_name: self.full_name.clone(),
            web_url,
            clone_url,
            default_branch: None,
            visibility: visibility(None, self.private),
            archived: false,
            disabled: false,
            fork: false,
            language: None,
            size_kb: None,
            topics: Vec::new(),
            last_pushed_at: None,
        }
    }
}

/// Which way repositories moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoriesAction {
    /// Repositories were granted to the installation.
    Added,
    /// Repositories were taken from it.
    Removed,
}

impl RepositoriesAction {
    /// The payload's `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
        }
    }
}

/// An `installation_repositories` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoriesEvent {
    /// The installation.
    pub installation: InstallationId,
    /// `added` or `removed`.
    pub action: RepositoriesAction,
    /// `repositories_added`.
    pub added: Vec<AnnouncedRepository>,
    /// `repositories_removed`.
    pub removed: Vec<AnnouncedRepository>,
}

/// The `repository` actions Tether acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryAction {
    /// Renamed.
    Renamed,
    /// Moved to another account.
    Transferred,
    /// Archived.
    Archived,
    /// Unarchived.
    Unarchived,
    /// Made public.
    Publicized,
    /// Made private.
    Privatized,
    /// Deleted.
    Deleted,
    /// Its default branch changed (other edits are ignored).
    Edited,
}

impl RepositoryAction {
    pub(super) fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "renamed" => Self::Renamed,
            "transferred" => Self::Transferred,
            "archived" => Self::Archived,
            "unarchived" => Self::Unarchived,
            "publicized" => Self::Publicized,
            "privatized" => Self::Privatized,
            "deleted" => Self::Deleted,
            "edited" => Self::Edited,
            _ => return None,
        })
    }

    /// The payload's `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Renamed => "renamed",
            Self::Transferred => "transferred",
            Self::Archived => "archived",
            Self::Unarchived => "unarchived",
            Self::Publicized => "publicized",
            Self::Privatized => "privatized",
            Self::Deleted => "deleted",
            Self::Edited => "edited",
        }
    }
}

/// What a `repository` event changes in Tether's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryChange {
    /// New names and URLs (renamed or transferred).
    Names {
        /// Short name.
        name: String,
        /// `owner/name`.
        full_name: String,
        /// Web page.
        web_url: Option<String>,
        /// HTTPS clone URL.
        clone_url: Option<String>,
    },
    /// Archived or not.
    Archived(bool),
    /// Its new visibility.
    Visibility(Visibility),
    /// Its new default branch.
    DefaultBranch(String),
    /// It no longer exists.
    Deleted,
}

/// A `repository` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryEvent {
    /// The installation that sent it.
    pub installation: InstallationId,
    /// GitHub's id of the repository.
    pub repository_id: u64,
    /// The payload's action.
    pub action: RepositoryAction,
    /// What it changes.
    pub change: RepositoryChange,
}

/// A `push` to a repository's default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// The installation that sent it.
    pub installation: InstallationId,
    /// GitHub's id of the repository.
    pub repository_id: u64,
    /// The branch's new head commit (`after`).
    pub head: String,
}

/// A delivery Tether acknowledges and does nothing with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The event, shortened.
    pub event: String,
    /// Its action, shortened, when it was read.
    pub action: Option<String>,
}

fn shortened(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_NAME)
        .collect()
}

impl Ignored {
    pub(super) fn new(event: &str, action: Option<&str>) -> Self {
        Self {
            event: shortened(event),
            action: action.map(shortened),
        }
    }

    /// `event.action`.
    pub fn label(&self) -> String {
        match &self.action {
            Some(action) => format!("{}.{action}", self.event),
            None => self.event.clone(),
        }
    }
}
