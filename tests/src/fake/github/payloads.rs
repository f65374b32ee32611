//! GitHub's JSON documents: users, accounts, installations and repositories, as the REST API
//! returns them and webhook payloads embed them.

use super::world::{Account, AccountKind, GithubApp, GithubUser, Installation};
use crate::fake::state::{Repo, Scope};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// RFC 3339 in UTC with a `Z`, as GitHub writes times.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// GitHub's legacy global node id (`MDQ6VXNlcjU4MzIzMQ==` for user 583231).
fn node_id(kind: AccountKind, id: u64) -> String {
    let text = match kind {
        AccountKind::User => format!("04:User{id}"),
        AccountKind::Organization => format!("012:Organization{id}"),
    };
    STANDARD.encode(text)
}

/// A simple user or organization, as `owner`, `sender`, `account` and `requester` are.
pub(crate) fn account_json(account: &Account) -> Value {
    let login = &account.login;
    json!({
        "login": login,
        "id": account.id,
        "node_id": node_id(account.kind, account.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", account.id),
        "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": account.kind.as_str(),
        "site_admin": false,
    })
}

/// A user as a simple account.
pub(crate) fn user_json(user: &GithubUser) -> Value {
    account_json(&Account {
        login: user.login.clone(),
        id: user.id,
        kind: AccountKind::User,
    })
}

/// `GET /user`: the authenticated user's document.
pub(crate) fn user_document(user: &GithubUser) -> Value {
    let mut doc = user_json(user);
    if let Value::Object(map) = &mut doc {
        let extra = json!({
            "name": format!("The {}", user.login),
            "company": null,
            "blog": "",
            "location": null,
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "public_repos": 8,
            "public_gists": 8,
            "followers": 20,
            "following": 0,
            "created_at": "2011-01-25T18:44:36Z",
            "updated_at": "2024-01-01T00:00:00Z",
        });
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
    }
    doc
}

/// An installation as `GET /user/installations` lists it and webhooks embed it.
pub(crate) fn installation_json(installation: &Installation, app: &GithubApp) -> Value {
    let id = installation.id;
    let account = &installation.account;
    let html_url = match account.kind {
        AccountKind::Organization => format!(
            "https://github.com/organizations/{}/settings/installations/{id}",
            account.login
        ),
        AccountKind::User => format!("https://github.com/settings/installations/{id}"),
    };
    json!({
        "id": id,
        "client_id": app.client_id,
        "account": account_json(account),
        "repository_selection": installation.selection(),
        "access_tokens_url": format!("https://api.github.com/app/installations/{id}/access_tokens"),
        "repositories_url": "https://api.github.com/installation/repositories",
        "html_url": html_url,
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": account.id,
        "target_type": account.kind.as_str(),
        "permissions": { "contents": "read", "metadata": "read" },
        "events": ["push", "repository"],
        "created_at": time(installation.created_at),
        "updated_at": time(installation.suspended_at.unwrap_or(installation.created_at)),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": installation.suspended_at.map(time),
    })
}

/// `{id, node_id}`: how events other than `installation*` name the installation.
pub(crate) fn installation_ref(installation: &Installation) -> Value {
    json!({
        "id": installation.id,
        "node_id": STANDARD.encode(format!("023:Integration::Installation{}", installation.id)),
    })
}

fn full_name(owner: &Account, repo: &Repo) -> String {
    format!("{}/{}", owner.login, repo.name)
}

fn repo_node_id(repo: &Repo) -> String {
    format!("R_kgDO{:08X}", repo.id % 0xFFFF_FFFF)
}

/// `{id, node_id, name, full_name, private}`: a repository in installation webhooks.
pub(crate) fn repository_summary(owner: &Account, repo: &Repo) -> Value {
    json!({
        "id": repo.id,
        "node_id": repo_node_id(repo),
        "name": repo.name,
        "full_name": full_name(owner, repo),
        "private": repo.is_private(),
    })
}

/// A full repository, as the REST API lists it and `repository`/`push` webhooks embed it.
pub(crate) fn repository_json(owner: &Account, repo: &Repo) -> Value {
    let full_name = full_name(owner, repo);
    let pushed = time(repo.pushed_at);
    json!({
        "id": repo.id,
        "node_id": repo_node_id(repo),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.is_private(),
        "visibility": repo.visibility(),
        "owner": account_json(owner),
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": repo.fork(),
        "url": format!("https://api.github.com/repos/{full_name}"),
        "clone_url": format!("https://github.com/{full_name}.git"),
        "ssh_url": format!("git@github.com:{full_name}.git"),
        "default_branch": repo.default_branch(),
        "archived": repo.archived(),
        "disabled": repo.disabled(),
        "language": repo.language(),
        "size": repo.size_bytes() / 1024,
        "topics": repo.topics(),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": pushed,
        "pushed_at": pushed,
    })
}

/// A branch, as `GET /repos/{owner}/{repo}/branches/{branch}` returns it.
pub(crate) fn branch_json(owner: &Account, repo: &Repo, base: &str) -> Value {
    let full_name = full_name(owner, repo);
    let sha = repo.sha();
    json!({
        "name": repo.default_branch(),
        "commit": {
            "sha": sha,
            "url": format!("{base}/repos/{full_name}/commits/{sha}"),
            "commit": {
                "message": "Synthetic commit",
                "author": {
                    "name": "Tether",
                    "email": "tether@example.com",
                    "date": time(repo.pushed_at),
                },
            },
        },
        "protected": false,
        "_links": {
            "self": format!("{base}/repos/{full_name}/branches/{}", repo.default_branch()),
            "html": format!("https://github.com/{full_name}/tree/{}", repo.default_branch()),
        },
    })
}

/// The repositories of `scope` the installation can read.
pub(crate) fn selected<'a>(scope: &'a Scope, installation: &Installation) -> Vec<&'a Repo> {
    scope
        .repos
        .iter()
        .filter(|r| installation.includes(r.id))
        .collect()
}
