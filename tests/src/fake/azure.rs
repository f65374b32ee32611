//! Azure DevOps REST API 7.1: connection data, projects, Git repositories, refs.

use super::http::{Incoming, not_modified, set_header, with_etag};
use super::state::{Budget, Provider, REPOS_PER_AZURE_PROJECT, Repo, Scope, State, stable_uuid};
use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

/// An Azure DevOps endpoint the fake serves.
#[derive(Debug)]
pub(crate) enum Endpoint {
    ConnectionData(String),
    Projects(String),
    Repositories(String, Option<String>),
    Refs(String, String),
}

impl Endpoint {
    /// Label for the statistics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ConnectionData(_) => "azure.connection_data",
            Self::Projects(_) => "azure.projects",
            Self::Repositories(..) => "azure.repositories",
            Self::Refs(..) => "azure.refs",
        }
    }
}

/// Recognizes `/{org}/_apis/...` and `/{org}/{project}/_apis/...` paths.
pub(crate) fn parse(req: &Incoming) -> Option<Endpoint> {
    if req.method != Method::GET {
        return None;
    }
    let owned = |s: &str| s.to_owned();
    match req.parts().as_slice() {
        [org, "_apis", "connectionData"] => Some(Endpoint::ConnectionData(owned(org))),
        [org, "_apis", "projects"] => Some(Endpoint::Projects(owned(org))),
        [org, "_apis", "git", "repositories"] => Some(Endpoint::Repositories(owned(org), None)),
        [org, project, "_apis", "git", "repositories"] => {
            Some(Endpoint::Repositories(owned(org), Some(owned(project))))
        }
        [org, "_apis", "git", "repositories", repo, "refs"]
        | [org, _, "_apis", "git", "repositories", repo, "refs"] => {
            Some(Endpoint::Refs(owned(org), owned(repo)))
        }
        _ => None,
    }
}

/// Whether the path belongs to Azure DevOps (`_apis` right after the organization or project).
pub(crate) fn claims(req: &Incoming) -> bool {
    req.segments.get(1).is_some_and(|s| s == "_apis")
        || req.segments.get(2).is_some_and(|s| s == "_apis")
}

/// Azure DevOps' error body.
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "$id": "1",
        "innerException": null,
        "message": message,
        "typeName": "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException, Microsoft.TeamFoundation.Core.WebApi",
        "typeKey": "ProjectDoesNotExistException",
        "errorCode": 0,
        "eventId": 3000,
    }))
}

/// Azure DevOps' `X-RateLimit-*` headers.
pub(crate) fn rate_headers(response: &mut HttpResponse, budget: Budget, exhausted: bool) {
    let remaining = if exhausted { 0 } else { budget.remaining };
    set_header(response, "X-RateLimit-Resource", "Core");
    set_header(response, "X-RateLimit-Limit", &budget.limit.to_string());
    set_header(response, "X-RateLimit-Remaining", &remaining.to_string());
    set_header(response, "X-RateLimit-Reset", &budget.reset.to_string());
}

/// What Azure DevOps answers a missing, bad or revoked PAT: a sign-in page, not a 401.
fn sign_in_page() -> HttpResponse {
    HttpResponse::build(StatusCode::NON_AUTHORITATIVE_INFORMATION)
        .content_type("text/html; charset=utf-8")
        .body(
            "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
             <body><p>Sign in to your account</p></body></html>",
        )
}

/// Answers a recognized Azure DevOps request.
pub(crate) fn serve(state: &mut State, req: &Incoming, endpoint: Endpoint) -> HttpResponse {
    if req.credential().is_none_or(|t| state.is_revoked(&t)) {
        return sign_in_page();
    }
    match endpoint {
        Endpoint::ConnectionData(org) => {
            let user = json!({
                "id": stable_uuid(&["azure-user", "tether"]),
                "descriptor": "Microsoft.IdentityModel.Claims.ClaimsIdentity;tether",
                "subjectDescriptor": "aad.tether",
                "providerDisplayName": "Tether",
                "isActive": true,
                "properties": {},
                "resourceVersion": 2,
                "metaTypeId": 0,
            });
            HttpResponse::Ok().json(json!({
                "authenticatedUser": user,
                "authorizedUser": user,
                "instanceId": stable_uuid(&["azure-org", &org]),
                "deploymentId": stable_uuid(&["azure-deployment", &org]),
                "deploymentType": "hosted",
                "locationServiceData": { "serviceOwner": stable_uuid(&["azure-service"]) },
            }))
        }
        Endpoint::Projects(org) => projects(state.scope(Provider::Azure, &org), req),
        Endpoint::Repositories(org, project) => {
            let scope: &Scope = state.scope(Provider::Azure, &org);
            let wanted = match project {
                Some(p) => match project_number(scope, &p) {
                    Some(n) => Some(n),
                    None => {
                        return error(
                            StatusCode::NOT_FOUND,
                            &format!(
                                "TF200016: The following project does not exist: {p}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
                            ),
                        );
                    }
                },
                None => None,
            };
            let value: Vec<Value> = scope
                .repos
                .iter()
                .filter(|r| wanted.is_none_or(|n| r.project == n))
                .map(|r| repository_json(scope, r, &req.base))
                .collect();
            HttpResponse::Ok().json(json!({ "value": value, "count": value.len() }))
        }
        Endpoint::Refs(org, repo) => {
            let scope: &Scope = state.scope(Provider::Azure, &org);
            let found = scope
                .repos
                .iter()
                .find(|r| r.uuid.to_string() == repo.to_ascii_lowercase() || r.name == repo);
            let Some(found) = found else {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "TF401019: The Git repository with name or identifier {repo} does not exist or you do not have permissions for the operation you are attempting."
                    ),
                );
            };
            if req.matches_etag(&found.etag()) {
                return not_modified(&found.etag());
            }
            let name = format!("refs/heads/{}", found.default_branch());
            let filter = req.param("filter").map(|f| format!("refs/{f}"));
            let value: Vec<Value> = if filter.is_none_or(|f| name.starts_with(&f)) {
                vec![json!({
                    "name": name,
                    "objectId": found.sha(),
                    "creator": { "displayName": "Tether", "id": stable_uuid(&["azure-user", "tether"]) },
                    "url": format!("{}/{org}/{}/_apis/git/repositories/{}/refs?filter=heads%2F{}",
                        req.base, project_id(scope, found.project), found.uuid, found.default_branch()),
                })]
            } else {
                Vec::new()
            };
            with_etag(
                &found.etag(),
                json!({ "value": value, "count": value.len() }),
            )
        }
    }
}

fn project_id(scope: &Scope, number: u64) -> uuid::Uuid {
    stable_uuid(&["azure-project", &scope.name, &number.to_string()])
}

fn project_name(number: u64) -> String {
    format!("project-{number:02}")
}

/// The project numbers that hold repositories, in order.
fn project_numbers(scope: &Scope) -> Vec<u64> {
    let mut numbers: Vec<u64> = scope.repos.iter().map(|r| r.project).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// A project named by its id or its name.
fn project_number(scope: &Scope, id_or_name: &str) -> Option<u64> {
    project_numbers(scope).into_iter().find(|n| {
        project_id(scope, *n).to_string() == id_or_name.to_ascii_lowercase()
            || project_name(*n).eq_ignore_ascii_case(id_or_name)
    })
}

fn project_json(scope: &Scope, number: u64, base: &str) -> Value {
    let id = project_id(scope, number);
    json!({
        "id": id,
        "name": project_name(number),
        "description": format!("Repositories {} to {}", number * REPOS_PER_AZURE_PROJECT, (number + 1) * REPOS_PER_AZURE_PROJECT - 1),
        "url": format!("{base}/{}/_apis/projects/{id}", scope.name),
        "state": "wellFormed",
        "revision": 1,
        "visibility": "private",
        "lastUpdateTime": "2024-01-01T00:00:00.000Z",
    })
}

fn projects(scope: &Scope, req: &Incoming) -> HttpResponse {
    let numbers = project_numbers(scope);
    let top = req.number("$top", 100, 1000) as usize;
    let skip = req
        .param("continuationToken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0)
        .min(numbers.len());
    let end = skip.saturating_add(top).min(numbers.len());
    let value: Vec<Value> = numbers[skip..end]
        .iter()
        .map(|n| project_json(scope, *n, &req.base))
        .collect();
    let mut response = HttpResponse::Ok().json(json!({ "count": value.len(), "value": value }));
    if end < numbers.len() {
        set_header(&mut response, "x-ms-continuationtoken", &end.to_string());
    }
    response
}

fn repository_json(scope: &Scope, repo: &Repo, base: &str) -> Value {
    let project = project_json(scope, repo.project, base);
    let project_name = project_name(repo.project);
    let org = &scope.name;
    json!({
        "id": repo.uuid,
        "name": repo.name,
        "url": format!("{base}/{org}/{}/_apis/git/repositories/{}", project["id"].as_str().unwrap_or_default(), repo.uuid),
        "project": project,
        "defaultBranch": format!("refs/heads/{}", repo.default_branch()),
        "size": repo.size_bytes(),
        "remoteUrl": format!("https://{org}@dev.azure.com/{org}/{project_name}/_git/{}", repo.slug()),
        "sshUrl": format!("git@ssh.dev.azure.com:v3/{org}/{project_name}/{}", repo.slug()),
        "webUrl": format!("https://dev.azure.com/{org}/{project_name}/_git/{}", repo.slug()),
        "isDisabled": repo.disabled(),
        "isInMaintenance": false,
        "isFork": repo.fork(),
    })
}
