//! GitHub REST API for a GitHub App: installations, installation tokens, repositories, branches.

use super::http::{Incoming, link_header, not_modified, page_range, set_header, with_etag};
use super::state::{Budget, Provider, Repo, Scope, State, stable_hash};
use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

/// Installation every fake host has.
const FIRST_INSTALLATION: &str = "1";

/// A GitHub endpoint the fake serves.
#[derive(Debug)]
pub(crate) enum Endpoint {
    UserInstallations,
    AccessToken(String),
    Repositories,
    Branch(String, String, String),
}

impl Endpoint {
    /// Label for the statistics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::UserInstallations => "github.installations",
            Self::AccessToken(_) => "github.access_token",
            Self::Repositories => "github.repositories",
            Self::Branch(..) => "github.branch",
        }
    }
}

/// Recognizes GitHub's paths.
pub(crate) fn parse(req: &Incoming) -> Option<Endpoint> {
    let get = req.method == Method::GET;
    match req.parts().as_slice() {
        ["user", "installations"] if get => Some(Endpoint::UserInstallations),
        ["app", "installations", id, "access_tokens"] if req.method == Method::POST => {
            Some(Endpoint::AccessToken((*id).to_owned()))
        }
        ["installation", "repositories"] if get => Some(Endpoint::Repositories),
        ["repos", owner, repo, "branches", branch @ ..] if get && !branch.is_empty() => Some(
            Endpoint::Branch((*owner).to_owned(), (*repo).to_owned(), branch.join("/")),
        ),
        _ => None,
    }
}

/// GitHub's error body.
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    }))
}

/// GitHub's `x-ratelimit-*` headers.
pub(crate) fn rate_headers(response: &mut HttpResponse, budget: Budget, exhausted: bool) {
    let remaining = if exhausted { 0 } else { budget.remaining };
    let used = if exhausted { budget.limit } else { budget.used };
    set_header(response, "x-ratelimit-limit", &budget.limit.to_string());
    set_header(response, "x-ratelimit-remaining", &remaining.to_string());
    set_header(response, "x-ratelimit-reset", &budget.reset.to_string());
    set_header(response, "x-ratelimit-used", &used.to_string());
    set_header(response, "x-ratelimit-resource", "core");
}

/// The organization login of an installation.
fn login(installation: &str) -> String {
    format!("org-{installation}")
}

/// Answers a recognized GitHub request.
pub(crate) fn serve(state: &mut State, req: &Incoming, endpoint: Endpoint) -> HttpResponse {
    let credential = req.credential().filter(|t| !state.is_revoked(t));
    let Some(token) = credential else {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    match endpoint {
        Endpoint::UserInstallations => {
            if token.starts_with("ghs_") {
                return error(
                    StatusCode::FORBIDDEN,
                    "Resource not accessible by integration",
                );
            }
            state.scope(Provider::Github, FIRST_INSTALLATION);
            installations(state, req)
        }
        Endpoint::AccessToken(id) => {
            let parts: Vec<&str> = token.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "A JSON web token could not be decoded",
                );
            }
            let Ok(number) = id.parse::<u64>() else {
                return error(StatusCode::NOT_FOUND, "Not Found");
            };
            state.scope(Provider::Github, &number.to_string());
            let minted = format!("ghs_{}", uuid::Uuid::new_v4().simple());
            state.mint_github_token(minted.clone(), number);
            let expires = (Utc::now() + chrono::Duration::hours(1))
                .to_rfc3339_opts(SecondsFormat::Secs, true);
            HttpResponse::Created().json(json!({
                "token": minted,
                "expires_at": expires,
                "permissions": { "contents": "read", "metadata": "read" },
                "repository_selection": "all",
            }))
        }
        Endpoint::Repositories => match state.github_installation(&token) {
            Some(installation) => repositories(
                state.scope(Provider::Github, &installation.to_string()),
                req,
            ),
            None => error(StatusCode::UNAUTHORIZED, "Bad credentials"),
        },
        Endpoint::Branch(owner, name, branch) => {
            let Some(installation) = owner.strip_prefix("org-") else {
                return error(StatusCode::NOT_FOUND, "Not Found");
            };
            let scope: &Scope = state.scope(Provider::Github, installation);
            let Some(repo) = scope
                .repos
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(&name))
            else {
                return error(StatusCode::NOT_FOUND, "Not Found");
            };
            if branch != repo.default_branch() {
                return error(StatusCode::NOT_FOUND, "Branch not found");
            }
            if req.matches_etag(&repo.etag()) {
                return not_modified(&repo.etag());
            }
            with_etag(&repo.etag(), branch_json(scope, repo, &req.base))
        }
    }
}

fn page_links(req: &Incoming, page: u64, pages: u64, per_page: u64) -> String {
    let at = |n: u64| req.url_with(&[("page", n.to_string()), ("per_page", per_page.to_string())]);
    let mut links = Vec::new();
    if page > 1 {
        links.push(("prev", at((page - 1).min(pages))));
    }
    if page < pages {
        links.push(("next", at(page + 1)));
        links.push(("last", at(pages)));
    }
    if page > 1 {
        links.push(("first", at(1)));
    }
    link_header(&links)
}

fn installations(state: &State, req: &Incoming) -> HttpResponse {
    let mut ids: Vec<u64> = state
        .scope_names(Provider::Github)
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    ids.sort_unstable();
    let per_page = req.number("per_page", 30, 100);
    let page = req.number("page", 1, u64::MAX);
    let (range, pages) = page_range(ids.len(), per_page, page);
    let body: Vec<Value> = ids[range]
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "account": {
                    "login": login(&id.to_string()),
                    "id": account_id(*id),
                    "type": "Organization",
                },
                "app_id": 1,
                "app_slug": "tether",
                "target_type": "Organization",
                "permissions": { "contents": "read", "metadata": "read" },
                "events": [],
                "repository_selection": "all",
                "created_at": "2024-01-01T00:00:00Z",
                "suspended_at": null,
            })
        })
        .collect();
    let mut response =
        HttpResponse::Ok().json(json!({ "total_count": ids.len(), "installations": body }));
    let links = page_links(req, page, pages, per_page);
    if !links.is_empty() {
        set_header(&mut response, "link", &links);
    }
    response
}

fn account_id(installation: u64) -> u64 {
    stable_hash(&["github-account", &installation.to_string()]) % 100_000_000 + 1
}

fn repositories(scope: &Scope, req: &Incoming) -> HttpResponse {
    let per_page = req.number("per_page", 30, 100);
    let page = req.number("page", 1, u64::MAX);
    let (range, pages) = page_range(scope.repos.len(), per_page, page);
    let body: Vec<Value> = scope.repos[range]
        .iter()
        .map(|r| repository_json(scope, r))
        .collect();
    let mut response = HttpResponse::Ok().json(json!({
        "total_count": scope.repos.len(),
        "repository_selection": "all",
        "repositories": body,
    }));
    let links = page_links(req, page, pages, per_page);
    if !links.is_empty() {
        set_header(&mut response, "link", &links);
    }
    response
}

fn repository_json(scope: &Scope, repo: &Repo) -> Value {
    let owner = login(&scope.name);
    let full_name = format!("{owner}/{}", repo.name);
    let pushed = repo.pushed_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "id": repo.id,
        "node_id": format!("R_kgDO{:08X}", repo.id % 0xFFFF_FFFF),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.is_private(),
        "visibility": repo.visibility(),
        "owner": {
            "login": owner,
            "id": scope.name.parse::<u64>().map_or(0, account_id),
            "type": "Organization",
        },
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": repo.fork(),
        "url": format!("https://api.github.com/repos/{full_name}"),
        "clone_url": format!("https://github.com/{full_name}.git"),
        "ssh_url": format!("git@github.com:{full_name}.git"),
        "default_branch": repo.default_branch(),
        "archived": repo.archived(),
        "disabled": false,
        "language": repo.language(),
        "size": repo.size_bytes() / 1024,
        "topics": repo.topics(),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": pushed,
        "pushed_at": pushed,
    })
}

fn branch_json(scope: &Scope, repo: &Repo, base: &str) -> Value {
    let full_name = format!("{}/{}", login(&scope.name), repo.name);
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
                    "date": repo.pushed_at.to_rfc3339_opts(SecondsFormat::Secs, true),
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
