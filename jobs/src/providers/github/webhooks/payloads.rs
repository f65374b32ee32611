//! The payloads Tether reads its events from: only the fields it uses are declared, so the
//! rest of GitHub's payload may take any shape.

use super::events::{
    AnnouncedRepository, Ignored, InstallationAction, InstallationEvent, PushEvent,
    RepositoriesAction, RepositoriesEvent, RepositoryAction, RepositoryChange, RepositoryEvent,
};
use super::{Event, PayloadError, decode};
use crate::providers::github::GitHubUser;
use crate::providers::github::InstallationId;
use crate::providers::github::listing::visibility;
use entities::Visibility;
use serde::Deserialize;

#[derive(Deserialize)]
struct InstallationRef {
    id: i64,
    account: Option<AccountRef>,
}

#[derive(Deserialize)]
struct AccountRef {
    login: Option<String>,
}

fn installation_id(
    event: &'static str,
    raw: &InstallationRef,
) -> Result<InstallationId, PayloadError> {
    InstallationId::new(raw.id)
        .ok_or_else(|| PayloadError::new(event, "installation.id is not a positive number"))
}

#[derive(Deserialize)]
struct InstallationPayload {
    action: String,
    installation: InstallationRef,
    requester: Option<GitHubUser>,
}

pub(super) fn installation(body: &[u8]) -> Result<Event, PayloadError> {
    let payload: InstallationPayload = decode("installation", body)?;
    let action = match payload.action.as_str() {
        "created" => InstallationAction::Created {
            requester: payload.requester,
        },
        "deleted" => InstallationAction::Deleted,
        "suspend" => InstallationAction::Suspend,
        "unsuspend" => InstallationAction::Unsuspend,
        "new_permissions_accepted" => InstallationAction::NewPermissionsAccepted,
        other => return Ok(Event::Ignored(Ignored::new("installation", Some(other)))),
    };
    Ok(Event::Installation(InstallationEvent {
        installation: installation_id("installation", &payload.installation)?,
        account: payload.installation.account.and_then(|a| a.login),
        action,
    }))
}

#[derive(Deserialize)]
struct RepositoriesPayload {
    action: String,
    installation: InstallationRef,
    repositories_added: Option<Vec<AnnouncedRepository>>,
    repositories_removed: Option<Vec<AnnouncedRepository>>,
}

pub(super) fn repositories(body: &[u8]) -> Result<Event, PayloadError> {
    const EVENT: &str = "installation_repositories";
    let payload: RepositoriesPayload = decode(EVENT, body)?;
    let action = match payload.action.as_str() {
        "added" => RepositoriesAction::Added,
        "removed" => RepositoriesAction::Removed,
        other => return Ok(Event::Ignored(Ignored::new(EVENT, Some(other)))),
    };
    Ok(Event::Repositories(RepositoriesEvent {
        installation: installation_id(EVENT, &payload.installation)?,
        action,
        added: payload.repositories_added.unwrap_or_default(),
        removed: payload.repositories_removed.unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
struct RepositorySnapshot {
    id: u64,
    name: String,
    full_name: String,
    visibility: Option<String>,
    html_url: Option<String>,
    clone_url: Option<String>,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RepositoryChanges {
    default_branch: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RepositoryPayload {
    action: String,
    repository: RepositorySnapshot,
    installation: Option<InstallationRef>,
    changes: Option<RepositoryChanges>,
}

pub(super) fn repository(body: &[u8]) -> Result<Event, PayloadError> {
    let payload: RepositoryPayload = decode("repository", body)?;
    let ignored = || {
        Ok(Event::Ignored(Ignored::new(
            "repository",
            Some(&payload.action),
        )))
    };
    let Some(action) = RepositoryAction::parse(&payload.action) else {
        return ignored();
    };
    // A repository or organization webhook (not the app's) carries no installation.
    let Some(installation) = &payload.installation else {
        return ignored();
    };
    let installation = installation_id("repository", installation)?;
    let repo = &payload.repository;
    let change = match action {
        RepositoryAction::Renamed | RepositoryAction::Transferred => RepositoryChange::Names {
            name: repo.name.clone(),
            full_name: repo.full_name.clone(),
            web_url: repo.html_url.clone(),
            clone_url: repo.clone_url.clone(),
        },
        RepositoryAction::Archived => RepositoryChange::Archived(true),
        RepositoryAction::Unarchived => RepositoryChange::Archived(false),
        RepositoryAction::Publicized => RepositoryChange::Visibility(Visibility::Public),
        // Made private or internal: the repository's own field says which.
        RepositoryAction::Privatized => match visibility(repo.visibility.as_deref(), true) {
            Visibility::Public => RepositoryChange::Visibility(Visibility::Private),
            other => RepositoryChange::Visibility(other),
        },
        RepositoryAction::Deleted => RepositoryChange::Deleted,
        RepositoryAction::Edited => {
            let changed = payload
                .changes
                .as_ref()
                .is_some_and(|c| c.default_branch.is_some());
            match (&repo.default_branch, changed) {
                (Some(branch), true) => RepositoryChange::DefaultBranch(branch.clone()),
                _ => return ignored(),
            }
        }
    };
    Ok(Event::Repository(RepositoryEvent {
        installation,
        repository_id: repo.id,
        action,
        change,
    }))
}

#[derive(Deserialize)]
struct PushRepository {
    id: u64,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    reference: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: PushRepository,
    installation: Option<InstallationRef>,
}

/// A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories).
fn is_commit_id(sha: &str) -> bool {
    matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn push(body: &[u8]) -> Result<Event, PayloadError> {
    let payload: PushPayload = decode("push", body)?;
    let ignored = || Ok(Event::Ignored(Ignored::new("push", None)));
    let to_default = payload
        .repository
        .default_branch
        .as_deref()
        .and_then(|branch| {
            payload
                .reference
                .strip_prefix("refs/heads/")
                .map(|r| r == branch)
        })
        .unwrap_or(false);
    // Only the default branch's head is stored; a deleted branch has no head.
    if !to_default || payload.deleted || payload.after.bytes().all(|b| b == b'0') {
        return ignored();
    }
    let Some(installation) = &payload.installation else {
        return ignored();
    };
    if !is_commit_id(&payload.after) {
        return Err(PayloadError::new("push", "after is not a commit id"));
    }
    Ok(Event::Push(PushEvent {
        installation: installation_id("push", installation)?,
        repository_id: payload.repository.id,
        head: payload.after.to_ascii_lowercase(),
    }))
}
