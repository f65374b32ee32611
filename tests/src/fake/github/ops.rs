//! What happens on GitHub outside the App's view and reaches it by webhook: an owner approves
//! an installation request, uninstalls, suspends, changes the chosen repositories; or a test
//! sends a webhook of its own. Shared by the admin API and `FakeCodeHost`; each queues its
//! deliveries, which the caller sends once the state is unlocked.

use super::payloads::{installation_json, repository_summary, selected, user_json};
use super::webhooks::DeliverWebhook;
use super::world::{AccountKind, GithubUser, Installation, Role};
use crate::fake::state::{Provider, State};
use actix_web::http::StatusCode;
use serde_json::{Value, json};

/// Why an operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpError {
    /// The admin API's status.
    pub status: u16,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl std::error::Error for OpError {}

fn refuse(status: StatusCode, message: String) -> OpError {
    OpError {
        status: status.as_u16(),
        message,
    }
}

type Outcome = Result<Value, OpError>;

/// The installation, if it exists and was not uninstalled (one on `org-{id}` exists once its
/// scope does).
fn live(state: &mut State, id: u64) -> Result<Installation, OpError> {
    let known = state.github.installations.contains_key(&id)
        || state
            .scope_names(Provider::Github)
            .contains(&id.to_string());
    if !known {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no installation {id}"),
        ));
    }
    let installation = state.github.installation_or_synthetic(id).clone();
    if installation.deleted {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("installation {id} was uninstalled"),
        ));
    }
    Ok(installation)
}

/// Who acts on an account: the signed-in user if they own it, else its first owner.
fn actor(state: &State, installation: &Installation) -> GithubUser {
    let github = &state.github;
    let session = github.session_user();
    match installation.account.kind {
        AccountKind::User => github.user(&installation.account.login),
        AccountKind::Organization => {
            if installation.scope == installation.id.to_string()
                || github.role(&session.login, &installation.account) == Some(Role::Owner)
            {
                return session;
            }
            github
                .org(&installation.account.login)
                .and_then(|o| o.owners.first())
                .map_or(session, |owner| github.user(owner))
        }
    }
}

/// Queues a webhook delivery; returns its id.
fn queue(state: &mut State, event: &str, payload: &Value) -> String {
    let app = state.github.app.clone();
    state
        .github
        .hooks
        .prepare(&app, event, payload, None, Default::default())
}

/// Queues the `installation` event `action` for the installation as it now is.
pub(crate) fn announce(
    state: &mut State,
    id: u64,
    action: &str,
    requester: Option<&GithubUser>,
    sender: &GithubUser,
) {
    let Some(installation) = state.github.installations.get(&id).cloned() else {
        return;
    };
    let scope = state.scope(Provider::Github, &installation.scope);
    let repositories: Vec<Value> = selected(scope, &installation)
        .into_iter()
        .map(|r| repository_summary(&installation.account, r))
        .collect();
    let payload = json!({
        "action": action,
        "installation": installation_json(&installation, &state.github.app),
        "repositories": repositories,
        "requester": requester.map(user_json),
        "sender": user_json(sender),
    });
    queue(state, "installation", &payload);
}

fn described(state: &State, installation: &Installation) -> Value {
    let current = state
        .github
        .installations
        .get(&installation.id)
        .unwrap_or(installation);
    json!({ "installation": installation_json(current, &state.github.app) })
}

/// An owner approves the pending request on `account`: the App is installed and
/// `installation.created` names the member who asked as `requester`.
pub(crate) fn approve(state: &mut State, account: &str) -> Outcome {
    if state.github.installation_on(account).is_some() {
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("the App is already installed on {account}"),
        ));
    }
    let Some(requester) = state.github.take_request(account) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no installation request for {account}"),
        ));
    };
    let target = state.github.account_of_scope(account);
    let id = state.github.create_installation(target);
    let installation = state.github.installations.get(&id).cloned();
    let Some(installation) = installation else {
        return Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "lost".into()));
    };
    let sender = actor(state, &installation);
    announce(state, id, "created", Some(&requester), &sender);
    let mut out = described(state, &installation);
    out["requester"] = user_json(&requester);
    Ok(out)
}

/// The App is uninstalled: `installation.deleted`; its tokens stop working, minting answers 404.
pub(crate) fn uninstall(state: &mut State, id: u64) -> Outcome {
    let installation = live(state, id)?;
    let sender = actor(state, &installation);
    announce(state, id, "deleted", None, &sender);
    if let Some(i) = state.github.installations.get_mut(&id) {
        i.deleted = true;
    }
    Ok(described(state, &installation))
}

/// The installation is suspended (`installation.suspend`, minting answers 403) or unsuspended.
pub(crate) fn set_suspended(state: &mut State, id: u64, suspend: bool) -> Outcome {
    let installation = live(state, id)?;
    if installation.suspended_at.is_some() == suspend {
        let now = if suspend {
            "suspended"
        } else {
            "not suspended"
        };
        return Err(refuse(
            StatusCode::CONFLICT,
            format!("installation {id} is already {now}"),
        ));
    }
    let now = state.github.now();
    if let Some(i) = state.github.installations.get_mut(&id) {
        i.suspended_at = suspend.then_some(now);
    }
    let sender = actor(state, &installation);
    let action = if suspend { "suspend" } else { "unsuspend" };
    announce(state, id, action, None, &sender);
    Ok(described(state, &installation))
}

/// Queues `installation_repositories` for a change of the chosen repositories.
fn announce_repositories(
    state: &mut State,
    installation: &Installation,
    added: Vec<Value>,
    removed: Vec<Value>,
) {
    let Some(current) = state.github.installations.get(&installation.id).cloned() else {
        return;
    };
    let sender = actor(state, &current);
    let action = if added.is_empty() { "removed" } else { "added" };
    let payload = json!({
        "action": action,
        "installation": installation_json(&current, &state.github.app),
        "repository_selection": current.selection(),
        "repositories_added": added,
        "repositories_removed": removed,
        "requester": null,
        "sender": user_json(&sender),
    });
    queue(state, "installation_repositories", &payload);
}

/// Repositories are taken out of the installation (it now has `selected` repositories).
pub(crate) fn remove_repositories(state: &mut State, id: u64, names: &[String]) -> Outcome {
    let installation = live(state, id)?;
    if names.is_empty() {
        return Err(refuse(StatusCode::BAD_REQUEST, "give \"names\"".into()));
    }
    let scope = state.scope(Provider::Github, &installation.scope);
    let readable = selected(scope, &installation);
    let mut gone = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match readable.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
            Some(repo) => gone.push((*repo).clone()),
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!(
                "installation {id} has no repositories named {}",
                unknown.join(", ")
            ),
        ));
    }
    let remaining = readable
        .iter()
        .map(|r| r.id)
        .filter(|repo| gone.iter().all(|g| g.id != *repo))
        .collect();
    if let Some(i) = state.github.installations.get_mut(&id) {
        i.selected = Some(remaining);
    }
    let removed = gone
        .iter()
        .map(|r| repository_summary(&installation.account, r))
        .collect();
    announce_repositories(state, &installation, Vec::new(), removed);
    Ok(described(state, &installation))
}

/// `count` repositories are given to the installation: first those of the account it cannot
/// read yet, then new ones created in the account.
pub(crate) fn add_repositories(state: &mut State, id: u64, count: usize) -> Outcome {
    let installation = live(state, id)?;
    if count == 0 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "\"count\" must be > 0".into(),
        ));
    }
    let scope = state.scope(Provider::Github, &installation.scope);
    let mut chosen: Vec<u64> = scope
        .repos
        .iter()
        .filter(|r| !installation.includes(r.id))
        .take(count)
        .map(|r| r.id)
        .collect();
    while chosen.len() < count {
        chosen.push(state.add(Provider::Github, &installation.scope, None).id);
    }
    if let Some(i) = state.github.installations.get_mut(&id)
        && let Some(set) = &mut i.selected
    {
        set.extend(chosen.iter().copied());
    }
    let scope = state.scope(Provider::Github, &installation.scope);
    let added = scope
        .repos
        .iter()
        .filter(|r| chosen.contains(&r.id))
        .map(|r| repository_summary(&installation.account, r))
        .collect();
    announce_repositories(state, &installation, added, Vec::new());
    Ok(described(state, &installation))
}

/// A webhook of the test's own making, or a logged one sent again under the same id.
pub(crate) fn deliver(state: &mut State, request: DeliverWebhook) -> Outcome {
    let app = state.github.app.clone();
    let hooks = &mut state.github.hooks;
    let id = match (request.event, request.payload, request.delivery_id) {
        (Some(event), Some(payload), id) => {
            hooks.prepare(&app, &event, &payload, id, request.signature)
        }
        (None, None, Some(id)) => hooks
            .prepare_again(&app, &id, request.signature)
            .ok_or_else(|| {
                refuse(
                    StatusCode::NOT_FOUND,
                    format!("no delivery {id} was sent to send again"),
                )
            })?,
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "give \"event\" and \"payload\", or only the \"delivery_id\" of one sent before"
                    .into(),
            ));
        }
    };
    Ok(json!({ "delivery_id": id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::github::world::GithubOrg;

    #[test]
    fn removing_and_adding_repositories_changes_the_selection() {
        let mut state = State::new(3);
        let id = state
            .github
            .create_installation(state.github.account_of_scope("ghost"));
        remove_repositories(&mut state, id, &["repo-00001".into()]).unwrap();
        let installation = state.github.installations[&id].clone();
        assert_eq!(installation.selection(), "selected");
        let scope = state.scope(Provider::Github, "ghost").clone();
        assert_eq!(selected(&scope, &installation).len(), 2);
        add_repositories(&mut state, id, 2).unwrap();
        let installation = state.github.installations[&id].clone();
        let scope = state.scope(Provider::Github, "ghost").clone();
        assert_eq!(
            (scope.repos.len(), selected(&scope, &installation).len()),
            (4, 4)
        );
    }

    #[test]
    fn only_a_pending_request_can_be_approved_and_it_names_the_requester() {
        let mut state = State::new(1);
        state.github.add_org(GithubOrg {
            login: "acme".into(),
            id: 7,
            owners: vec!["alice".into()],
            members: vec!["mona".into()],
        });
        assert_eq!(approve(&mut state, "acme").unwrap_err().status, 404);
        let mona = state.github.user("mona");
        state.github.request("acme", mona.clone());
        let out = approve(&mut state, "acme").unwrap();
        assert_eq!(out["requester"]["login"], "mona");
        assert_eq!(out["installation"]["account"]["login"], "acme");
        assert_eq!(approve(&mut state, "acme").unwrap_err().status, 409);
    }
}
