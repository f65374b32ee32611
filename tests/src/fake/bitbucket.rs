//! Bitbucket Cloud REST API 2.0: workspace repositories, workspace projects, branches.

use super::http::{Incoming, not_modified, page_range, set_header, with_etag};
use super::state::{Budget, Provider, Repo, Scope, State};
use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode};
use chrono::SecondsFormat;
use serde_json::{Value, json};

/// A Bitbucket endpoint the fake serves.
#[derive(Debug)]
pub(crate) enum Endpoint {
    Repositories(String),
    Projects(String),
    Branch(String, String, String),
}

impl Endpoint {
    /// Label for the statistics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Repositories(_) => "bitbucket.repositories",
            Self::Projects(_) => "bitbucket.projects",
            Self::Branch(..) => "bitbucket.branch",
        }
    }
}

/// Recognizes `/2.0/...` paths.
pub(crate) fn parse(req: &Incoming) -> Option<Endpoint> {
    if req.method != Method::GET {
        return None;
    }
    match req.parts().as_slice() {
        ["2.0", "repositories", ws] => Some(Endpoint::Repositories((*ws).to_owned())),
        ["2.0", "workspaces", ws, "projects"] => Some(Endpoint::Projects((*ws).to_owned())),
        [
            "2.0",
            "repositories",
            ws,
            slug,
            "refs",
            "branches",
            name @ ..,
        ] if !name.is_empty() => Some(Endpoint::Branch(
            (*ws).to_owned(),
            (*slug).to_owned(),
            name.join("/"),
        )),
        _ => None,
    }
}

/// Bitbucket's error body.
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "type": "error",
        "error": { "message": message },
    }))
}

/// Bitbucket's `X-RateLimit-*` headers.
pub(crate) fn rate_headers(response: &mut HttpResponse, budget: Budget, exhausted: bool) {
    let near = exhausted || budget.remaining * 5 < budget.limit;
    set_header(response, "X-RateLimit-Limit", &budget.limit.to_string());
    set_header(response, "X-RateLimit-Resource", "api.repositories");
    set_header(
        response,
        "X-RateLimit-NearLimit",
        if near { "true" } else { "false" },
    );
}

/// Answers a recognized Bitbucket request.
pub(crate) fn serve(state: &mut State, req: &Incoming, endpoint: Endpoint) -> HttpResponse {
    if req.credential().is_none_or(|t| state.is_revoked(&t)) {
        return error(StatusCode::UNAUTHORIZED, "Access token expired or revoked.");
    }
    match endpoint {
        Endpoint::Repositories(ws) => {
            let scope: &Scope = state.scope(Provider::Bitbucket, &ws);
            paged(req, &scope.repos, |r| repository_json(scope, r))
        }
        Endpoint::Projects(ws) => {
            let scope = state.scope(Provider::Bitbucket, &ws);
            paged(req, &[project_json(scope)], Value::clone)
        }
        Endpoint::Branch(ws, slug, name) => {
            let scope = state.scope(Provider::Bitbucket, &ws);
            let Some(repo) = scope.repos.iter().find(|r| r.slug() == slug) else {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!("Repository {ws}/{slug} not found"),
                );
            };
            if name != repo.default_branch() {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!("Branch \"{name}\" not found"),
                );
            }
            if req.matches_etag(&repo.etag()) {
                return not_modified(&repo.etag());
            }
            with_etag(&repo.etag(), branch_json(scope, repo))
        }
    }
}

/// A Bitbucket page (`size`, `page`, `pagelen`, `next`, `previous`, `values`).
fn paged<T>(req: &Incoming, items: &[T], render: impl Fn(&T) -> Value) -> HttpResponse {
    let pagelen = req.number("pagelen", 10, 100);
    let page = req.number("page", 1, u64::MAX);
    let (range, pages) = page_range(items.len(), pagelen, page);
    let mut body = json!({
        "size": items.len(),
        "page": page,
        "pagelen": pagelen,
        "values": items[range].iter().map(render).collect::<Vec<_>>(),
    });
    let at = |n: u64| req.url_with(&[("page", n.to_string()), ("pagelen", pagelen.to_string())]);
    if page < pages {
        body["next"] = json!(at(page + 1));
    }
    if page > 1 {
        body["previous"] = json!(at((page - 1).min(pages)));
    }
    HttpResponse::Ok().json(body)
}

fn project_json(scope: &Scope) -> Value {
    json!({
        "type": "project",
        "key": "PRJ",
        "uuid": format!("{{{}}}", super::state::stable_uuid(&["bitbucket-project", &scope.name])),
        "name": "Project",
        "is_private": true,
        "links": { "html": { "href": format!("https://bitbucket.org/{}/workspace/projects/PRJ", scope.name) } },
    })
}

fn repository_json(scope: &Scope, repo: &Repo) -> Value {
    let full_name = format!("{}/{}", scope.name, repo.slug());
    let mut value = json!({
        "type": "repository",
        "uuid": format!("{{{}}}", repo.uuid),
        "name": repo.name,
        "slug": repo.slug(),
        "full_name": full_name,
        "is_private": repo.is_private(),
        "language": repo.language().to_ascii_lowercase(),
        "size": repo.size_bytes(),
        "scm": "git",
        "fork_policy": "no_public_forks",
        "created_on": "2024-01-01T00:00:00.000000+00:00",
        "updated_on": repo.pushed_at.to_rfc3339_opts(SecondsFormat::Micros, false),
        "mainbranch": { "type": "branch", "name": repo.default_branch() },
        "links": {
            "html": { "href": format!("https://bitbucket.org/{full_name}") },
            "clone": [
                { "name": "https", "href": format!("https://x-token-auth@bitbucket.org/{full_name}.git") },
                { "name": "ssh", "href": format!("git@bitbucket.org:{full_name}.git") },
            ],
        },
        "project": { "type": "project", "key": "PRJ", "name": "Project" },
        "workspace": { "type": "workspace", "slug": scope.name },
    });
    if repo.fork() {
        value["parent"] = json!({
            "type": "repository",
            "full_name": format!("upstream/{}", repo.slug()),
            "name": repo.name,
            "uuid": format!("{{{}}}", super::state::stable_uuid(&["parent", &repo.uuid.to_string()])),
        });
    }
    value
}

fn branch_json(scope: &Scope, repo: &Repo) -> Value {
    let full_name = format!("{}/{}", scope.name, repo.slug());
    json!({
        "type": "branch",
        "name": repo.default_branch(),
        "target": {
            "type": "commit",
            "hash": repo.sha(),
            "date": repo.pushed_at.to_rfc3339_opts(SecondsFormat::Secs, false),
            "message": "Synthetic commit\n",
            "repository": { "type": "repository", "full_name": full_name, "uuid": format!("{{{}}}", repo.uuid) },
        },
        "links": {
            "html": { "href": format!("https://bitbucket.org/{full_name}/branch/{}", repo.default_branch()) },
        },
    })
}
