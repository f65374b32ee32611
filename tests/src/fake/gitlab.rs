//! GitLab REST API v4: token introspection, groups, members, group projects, branches.

use super::hostile::HostileAnswer;
use super::http::{Incoming, link_header, not_modified, page_range, set_header, with_etag};
use super::state::{Budget, Provider, Repo, Scope, State};
use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode};
use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

/// The user every token belongs to.
const USER_ID: u64 = 1;

/// A GitLab endpoint the fake serves.
#[derive(Debug)]
pub(crate) enum Endpoint {
    TokenSelf,
    Group(String),
    Member(String, u64),
    Projects(String),
    Branch(u64, String),
}

impl Endpoint {
    /// Label for the statistics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TokenSelf => "gitlab.token_self",
            Self::Group(_) => "gitlab.group",
            Self::Member(..) => "gitlab.member",
            Self::Projects(_) => "gitlab.projects",
            Self::Branch(..) => "gitlab.branch",
        }
    }
}

/// Recognizes `/api/v4/...` paths.
pub(crate) fn parse(req: &Incoming) -> Option<Endpoint> {
    if req.method != Method::GET {
        return None;
    }
    match req.parts().as_slice() {
        ["api", "v4", "personal_access_tokens", "self"] => Some(Endpoint::TokenSelf),
        ["api", "v4", "groups", id] => Some(Endpoint::Group((*id).to_owned())),
        ["api", "v4", "groups", id, "members", "all", user] => {
            Some(Endpoint::Member((*id).to_owned(), user.parse().ok()?))
        }
        ["api", "v4", "groups", id, "projects"] => Some(Endpoint::Projects((*id).to_owned())),
        [
            "api",
            "v4",
            "projects",
            id,
            "repository",
            "branches",
            branch @ ..,
        ] if !branch.is_empty() => Some(Endpoint::Branch(id.parse().ok()?, branch.join("/"))),
        _ => None,
    }
}

/// GitLab's error body.
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return HttpResponse::build(status)
            .content_type("text/plain")
            .body("Retry later\n");
    }
    HttpResponse::build(status).json(json!({ "message": message }))
}

/// GitLab's `RateLimit-*` headers.
pub(crate) fn rate_headers(response: &mut HttpResponse, budget: Budget, exhausted: bool) {
    let remaining = if exhausted { 0 } else { budget.remaining };
    let reset_time = Utc
        .timestamp_opt(budget.reset, 0)
        .single()
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    set_header(response, "RateLimit-Name", "throttle_authenticated_api");
    set_header(response, "RateLimit-Limit", &budget.limit.to_string());
    set_header(response, "RateLimit-Observed", &budget.used.to_string());
    set_header(response, "RateLimit-Remaining", &remaining.to_string());
    set_header(response, "RateLimit-Reset", &budget.reset.to_string());
    set_header(response, "RateLimit-ResetTime", &reset_time);
}

fn timestamp(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Answers a recognized GitLab request.
pub(crate) fn serve(state: &mut State, req: &Incoming, endpoint: Endpoint) -> HttpResponse {
    let Some(token) = req.credential().filter(|t| !state.is_revoked(t)) else {
        return error(StatusCode::UNAUTHORIZED, "401 Unauthorized");
    };
    match endpoint {
        Endpoint::TokenSelf => HttpResponse::Ok().json(json!({
            "id": super::state::stable_hash(&["gitlab-token", &token]) % 1_000_000 + 1,
            "name": "tether-fake",
            "revoked": false,
            "created_at": "2024-01-01T00:00:00.000Z",
            "description": "",
            "scopes": ["read_api", "read_repository"],
            "user_id": USER_ID,
            "last_used_at": null,
            "active": true,
            "expires_at": null,
        })),
        Endpoint::Group(id) => match group_path(state, &id) {
            Some(path) => {
                HttpResponse::Ok().json(group_json(state.scope(Provider::Gitlab, &path), &req.base))
            }
            None => error(StatusCode::NOT_FOUND, "404 Group Not Found"),
        },
        Endpoint::Member(id, user) => match group_path(state, &id) {
            Some(_) if user == USER_ID => HttpResponse::Ok().json(json!({
                "id": USER_ID,
                "username": "tether",
                "name": "Tether",
                "state": "active",
                "avatar_url": null,
                "web_url": format!("{}/tether", req.base),
                "access_level": 30,
                "created_at": "2024-01-01T00:00:00.000Z",
                "expires_at": null,
            })),
            Some(_) => error(StatusCode::NOT_FOUND, "404 Not found"),
            None => error(StatusCode::NOT_FOUND, "404 Group Not Found"),
        },
        Endpoint::Projects(id) => match group_path(state, &id) {
            Some(path) => {
                state.scope(Provider::Gitlab, &path);
                projects(state, &path, req)
            }
            None => error(StatusCode::NOT_FOUND, "404 Group Not Found"),
        },
        Endpoint::Branch(project, branch) => match state.locate(Provider::Gitlab, project) {
            Some((scope, repo)) if branch == repo.default_branch() => {
                if req.matches_etag(&repo.etag()) {
                    return not_modified(&repo.etag());
                }
                with_etag(&repo.etag(), branch_json(scope, repo, &req.base))
            }
            Some(_) => error(StatusCode::NOT_FOUND, "404 Branch Not Found"),
            None => error(StatusCode::NOT_FOUND, "404 Project Not Found"),
        },
    }
}

/// A group is named by its numeric id or its full path; any path exists.
fn group_path(state: &State, id: &str) -> Option<String> {
    match id.parse::<u64>() {
        Ok(number) => state.gitlab_group(number).map(str::to_owned),
        Err(_) if !id.trim_matches('/').is_empty() => Some(id.trim_matches('/').to_owned()),
        Err(_) => None,
    }
}

fn group_json(scope: &Scope, base: &str) -> Value {
    let path = scope.name.rsplit('/').next().unwrap_or(&scope.name);
    json!({
        "id": scope.id,
        "name": path,
        "path": path,
        "description": "",
        "visibility": "private",
        "full_name": scope.name.split('/').collect::<Vec<_>>().join(" / "),
        "full_path": scope.name,
        "web_url": format!("{base}/groups/{}", scope.name),
        "parent_id": null,
        "created_at": "2024-01-01T00:00:00.000Z",
    })
}

/// The group's projects, with those of its subgroups (at any depth) when
/// `include_subgroups=true`, ordered by id as GitLab's `order_by=id` does.
fn group_projects<'a>(state: &'a State, path: &str, subgroups: bool) -> Vec<(&'a Scope, &'a Repo)> {
    let below = format!("{path}/");
    let mut scopes: Vec<&Scope> = state
        .scopes_of(Provider::Gitlab)
        .filter(|scope| scope.name == path || (subgroups && scope.name.starts_with(&below)))
        .collect();
    if let [only] = scopes.as_slice() {
        return only.repos.iter().map(|repo| (*only, repo)).collect();
    }
    scopes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut all: Vec<(&Scope, &Repo)> = scopes
        .into_iter()
        .flat_map(|scope| scope.repos.iter().map(move |repo| (scope, repo)))
        .collect();
    all.sort_by_key(|(_, repo)| repo.id);
    all
}

fn projects(state: &State, path: &str, req: &Incoming) -> HttpResponse {
    let per_page = req.number("per_page", 20, 100);
    let page = req.number("page", 1, u64::MAX);
    let listed = group_projects(state, path, req.param("include_subgroups") == Some("true"));
    let (range, pages) = page_range(listed.len(), per_page, page);
    let statistics = req.param("statistics") == Some("true");
    let unsafe_urls = matches!(
        state.hostile_rule(&req.path_and_query),
        Some(HostileAnswer::UnsafeUrls)
    );
    let body: Vec<Value> = listed[range]
        .iter()
        .map(|(scope, r)| {
            let mut project = project_json(scope, r, &req.base, statistics);
            if unsafe_urls {
                project["web_url"] = json!("javascript:alert(document.cookie)");
                project["http_url_to_repo"] = json!("file:///etc/passwd");
            }
            project
        })
        .collect();

    let at = |n: u64| req.url_with(&[("page", n.to_string()), ("per_page", per_page.to_string())]);
    let mut links = Vec::new();
    if page > 1 {
        links.push(("prev", at((page - 1).min(pages))));
    }
    if page < pages {
        links.push(("next", at(page + 1)));
    }
    // Past 10,000 records GitLab counts no further: no totals and no `last` link (its docs:
    // "For performance reasons, if a query returns more than 10,000 records, GitLab doesn't
    // return the following headers: x-total, x-total-pages, rel=\"last\" link").
    let counted = listed.len() <= 10_000;
    links.push(("first", at(1)));
    if counted {
        links.push(("last", at(pages)));
    }
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };

    let mut response = HttpResponse::Ok().json(body);
    set_header(&mut response, "x-page", &page.to_string());
    set_header(&mut response, "x-per-page", &per_page.to_string());
    if counted {
        set_header(&mut response, "x-total", &listed.len().to_string());
        set_header(&mut response, "x-total-pages", &pages.to_string());
    }
    set_header(&mut response, "x-next-page", &next);
    set_header(&mut response, "x-prev-page", &prev);
    set_header(&mut response, "link", &link_header(&links));
    response
}

fn project_json(scope: &Scope, repo: &Repo, base: &str, statistics: bool) -> Value {
    let path_with_namespace = format!("{}/{}", scope.name, repo.slug());
    let mut project = json!({
        "id": repo.id,
        "description": null,
        "name": repo.name,
        "name_with_namespace": format!("{} / {}", scope.name.replace('/', " / "), repo.name),
        "path": repo.slug(),
        "path_with_namespace": path_with_namespace,
        "created_at": "2024-01-01T00:00:00.000Z",
        "default_branch": repo.default_branch(),
        "tag_list": repo.topics(),
        "topics": repo.topics(),
        "ssh_url_to_repo": format!("git@{}:{path_with_namespace}.git", host_of(base)),
        "http_url_to_repo": format!("{base}/{path_with_namespace}.git"),
        "web_url": format!("{base}/{path_with_namespace}"),
        "visibility": repo.visibility(),
        "archived": repo.archived(),
        "last_activity_at": timestamp(repo.pushed_at),
        "namespace": {
            "id": scope.id,
            "name": scope.name.rsplit('/').next().unwrap_or(&scope.name),
            "path": scope.name.rsplit('/').next().unwrap_or(&scope.name),
            "kind": "group",
            "full_path": scope.name,
        },
    });
    if repo.fork() {
        project["forked_from_project"] = json!({
            "id": repo.id ^ 1,
            "name": repo.name,
            "path": repo.slug(),
            "path_with_namespace": format!("upstream/{}", repo.slug()),
            "web_url": format!("{base}/upstream/{}", repo.slug()),
        });
    }
    if statistics {
        project["statistics"] = json!({
            "commit_count": repo.pushes + 1,
            "storage_size": repo.size_bytes() * 2,
            "repository_size": repo.size_bytes(),
            "lfs_objects_size": 0,
            "job_artifacts_size": 0,
        });
    }
    project
}

fn branch_json(scope: &Scope, repo: &Repo, base: &str) -> Value {
    let sha = repo.sha();
    let date = timestamp(repo.pushed_at);
    json!({
        "name": repo.default_branch(),
        "merged": false,
        "protected": true,
        "default": true,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": false,
        "web_url": format!("{base}/{}/{}/-/tree/{}", scope.name, repo.slug(), repo.default_branch()),
        "commit": {
            "id": sha,
            "short_id": &sha[..8],
            "title": "Synthetic commit",
            "message": "Synthetic commit\n",
            "author_name": "Tether",
            "author_email": "tether@example.com",
            "created_at": date,
            "committed_date": date,
            "authored_date": date,
            "parent_ids": [],
        },
    })
}

fn host_of(base: &str) -> &str {
    base.split("://").nth(1).unwrap_or(base)
}
