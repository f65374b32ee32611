//! `push` and `repository` webhooks for changes made with the admin API's `/_fake/mutate`:
//! delivered to the installation that can read the repository, unless it is suspended.

use super::payloads::{account_json, installation_ref, repository_json, time, user_json};
use super::world::{Account, Installation};
use crate::fake::state::{Provider, Repo, RepoInfo, State};
use serde_json::{Value, json};

/// What a mutation did to a repository.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    Created,
    Deleted,
    Renamed { from: String },
    Transferred { from_scope: String },
    Pushed { before: String },
}

/// The installation that receives events of the repository: not uninstalled, not suspended,
/// on the scope and able to read the repository.
fn receiver(state: &mut State, scope: &str, repo: u64) -> Option<Installation> {
    if let Ok(id) = scope.parse::<u64>() {
        state.github.installation_or_synthetic(id);
    }
    state
        .github
        .installations
        .values()
        .find(|i| i.is_active() && i.scope.eq_ignore_ascii_case(scope) && i.includes(repo))
        .cloned()
}

/// Queues the webhook for `change`; `before` is the repository as it was (the deleted one).
pub(crate) fn repository_changed(
    state: &mut State,
    change: Change,
    info: &RepoInfo,
    before: Option<Repo>,
) {
    let repo = match &change {
        Change::Deleted => before.clone(),
        _ => state
            .locate(Provider::Github, info.id)
            .map(|(_, repo)| repo.clone()),
    };
    let Some(repo) = repo else {
        return;
    };
    let Some(installation) = receiver(state, &info.scope, repo.id) else {
        return;
    };
    let owner = state.github.account_of_scope(&info.scope);
    let sender = state.github.session_user();
    let mut payload = json!({
        "repository": repository_json(&owner, &repo),
        "installation": installation_ref(&installation),
        "sender": user_json(&sender),
    });
    if owner.kind == super::world::AccountKind::Organization {
        payload["organization"] = account_json(&owner);
    }
    let event = match change {
        Change::Pushed { before } => {
            push(&mut payload, &owner, &repo, &before, &sender.login);
            "push"
        }
        Change::Created => {
            payload["action"] = json!("created");
            "repository"
        }
        Change::Deleted => {
            payload["action"] = json!("deleted");
            "repository"
        }
        Change::Renamed { from } => {
            payload["action"] = json!("renamed");
            payload["changes"] = json!({ "repository": { "name": { "from": from } } });
            "repository"
        }
        Change::Transferred { from_scope } => {
            let from: Account = state.github.account_of_scope(&from_scope);
            let key = match from.kind {
                super::world::AccountKind::Organization => "organization",
                super::world::AccountKind::User => "user",
            };
            payload["action"] = json!("transferred");
            payload["changes"] = json!({ "owner": { "from": { key: account_json(&from) } } });
            "repository"
        }
    };
    let app = state.github.app.clone();
    state
        .github
        .hooks
        .prepare(&app, event, &payload, None, Default::default());
}

/// Fills in a `push` to the default branch (GitHub writes its times as Unix seconds there).
fn push(payload: &mut Value, owner: &Account, repo: &Repo, before: &str, pusher: &str) {
    let after = repo.sha();
    let full_name = format!("{}/{}", owner.login, repo.name);
    let commit = json!({
        "id": after,
        "tree_id": after,
        "distinct": true,
        "message": "Synthetic commit",
        "timestamp": time(repo.pushed_at),
        "url": format!("https://github.com/{full_name}/commit/{after}"),
        "author": { "name": "Tether", "email": "tether@example.com", "username": pusher },
        "committer": { "name": "Tether", "email": "tether@example.com", "username": pusher },
        "added": [],
        "removed": [],
        "modified": ["README.md"],
    });
    payload["ref"] = json!(format!("refs/heads/{}", repo.default_branch()));
    payload["before"] = json!(before);
    payload["after"] = json!(after);
    payload["created"] = json!(false);
    payload["deleted"] = json!(false);
    payload["forced"] = json!(false);
    payload["base_ref"] = Value::Null;
    payload["compare"] = json!(format!(
        "https://github.com/{full_name}/compare/{}...{}",
        &before[..12.min(before.len())],
        &after[..12]
    ));
    payload["commits"] = json!([commit.clone()]);
    payload["head_commit"] = commit;
    payload["pusher"] =
        json!({ "name": pusher, "email": format!("{pusher}@users.noreply.github.com") });
    payload["repository"]["pushed_at"] = json!(repo.pushed_at.timestamp());
    payload["repository"]["created_at"] = json!(1_704_067_200);
    payload["repository"]["master_branch"] = json!(repo.default_branch());
}
