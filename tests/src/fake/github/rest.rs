//! GitHub's REST API for an App and its users: the user, the installations a user can see,
//! installation tokens, an installation's repositories, branches.

use super::error;
use super::payloads::{
    branch_json, installation_json, repository_json, selected, time, user_document,
};
use super::tokens::{TokenUser, token};
use super::world::{Github, Installation};
use crate::fake::http::{Incoming, link_header, not_modified, page_range, set_header, with_etag};
use crate::fake::state::{Provider, State};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

/// Installation every fake host lists (how the fake always behaved).
const FIRST_INSTALLATION: &str = "1";

fn bad_credentials() -> HttpResponse {
    error(StatusCode::UNAUTHORIZED, "Bad credentials")
}

fn not_for_installations() -> HttpResponse {
    error(
        StatusCode::FORBIDDEN,
        "Resource not accessible by integration",
    )
}

fn suspended() -> HttpResponse {
    error(
        StatusCode::FORBIDDEN,
        "This installation has been suspended",
    )
}

/// `GET /user`.
pub(super) fn user(state: &State, token: &str) -> HttpResponse {
    if token.starts_with("ghs_") {
        return not_for_installations();
    }
    match state.github.token_user(token) {
        TokenUser::Valid(login) => {
            HttpResponse::Ok().json(user_document(&state.github.user(&login)))
        }
        TokenUser::Invalid | TokenUser::Unknown => bad_credentials(),
    }
}

/// `GET /user/installations`: the App's installations on accounts the token's user can see.
pub(super) fn user_installations(state: &mut State, req: &Incoming, token: &str) -> HttpResponse {
    if token.starts_with("ghs_") {
        return not_for_installations();
    }
    let login = match state.github.token_user(token) {
        TokenUser::Valid(login) => login,
        TokenUser::Invalid => return bad_credentials(),
        // Suites seed linked accounts without the OAuth dance: such a token speaks for the
        // browser's signed-in user unless a test asked for GitHub's strictness.
        TokenUser::Unknown if state.github.reject_unknown_user_tokens => {
            return bad_credentials();
        }
        TokenUser::Unknown => state.github.session_user().login,
    };
    state.scope(Provider::Github, FIRST_INSTALLATION);
    for name in state.scope_names(Provider::Github) {
        if let Ok(id) = name.parse::<u64>() {
            state.github.installation_or_synthetic(id);
        }
    }
    let github = &state.github;
    let visible: Vec<&Installation> = github
        .installations
        .values()
        .filter(|i| !i.deleted && github.can_see(&login, i))
        .collect();
    let per_page = req.number("per_page", 30, 100);
    let page = req.number("page", 1, u64::MAX);
    let (range, pages) = page_range(visible.len(), per_page, page);
    let body: Vec<Value> = visible[range]
        .iter()
        .map(|i| installation_json(i, &github.app))
        .collect();
    paginated(
        req,
        json!({ "total_count": visible.len(), "installations": body }),
        page,
        pages,
        per_page,
    )
}

/// `POST /app/installations/{id}/access_tokens` with the App's JWT.
pub(super) fn access_token(state: &mut State, jwt: &str, id: &str) -> HttpResponse {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        );
    }
    let Ok(number) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let installation = state.github.installation_or_synthetic(number).clone();
    if installation.deleted {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    if installation.suspended_at.is_some() {
        return suspended();
    }
    state.scope(Provider::Github, &installation.scope);
    let minted = token("ghs");
    state.mint_github_token(minted.clone(), number);
    let expires = time(state.github.now() + chrono::Duration::hours(1));
    HttpResponse::Created().json(json!({
        "token": minted,
        "expires_at": expires,
        "permissions": { "contents": "read", "metadata": "read" },
        "repository_selection": installation.selection(),
    }))
}

/// Why an installation token is refused.
enum Refusal {
    BadCredentials,
    Suspended,
}

impl Refusal {
    fn response(self) -> HttpResponse {
        match self {
            Self::BadCredentials => bad_credentials(),
            Self::Suspended => suspended(),
        }
    }
}

/// The installation an installation token was minted for, if the token still works.
fn installation_of(state: &State, token: &str) -> Result<Installation, Refusal> {
    let installation = state
        .github_installation(token)
        .and_then(|id| state.github.installations.get(&id))
        .ok_or(Refusal::BadCredentials)?;
    if installation.deleted {
        // Uninstalling revokes the installation's tokens.
        return Err(Refusal::BadCredentials);
    }
    if installation.suspended_at.is_some() {
        return Err(Refusal::Suspended);
    }
    Ok(installation.clone())
}

/// `GET /installation/repositories` with an installation token.
pub(super) fn repositories(state: &mut State, req: &Incoming, token: &str) -> HttpResponse {
    let installation = match installation_of(state, token) {
        Ok(installation) => installation,
        Err(refusal) => return refusal.response(),
    };
    let account = installation.account.clone();
    let scope = state.scope(Provider::Github, &installation.scope);
    let repos = selected(scope, &installation);
    let per_page = req.number("per_page", 30, 100);
    let page = req.number("page", 1, u64::MAX);
    let (range, pages) = page_range(repos.len(), per_page, page);
    let body: Vec<Value> = repos[range]
        .iter()
        .map(|r| repository_json(&account, r))
        .collect();
    paginated(
        req,
        json!({
            "total_count": repos.len(),
            "repository_selection": installation.selection(),
            "repositories": body,
        }),
        page,
        pages,
        per_page,
    )
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`.
pub(super) fn branch(
    state: &mut State,
    req: &Incoming,
    token: &str,
    (owner, name, branch): (String, String, String),
) -> HttpResponse {
    let scope_name = Github::scope_of_owner(&owner);
    // An installation token reads only its own installation's repositories; other tokens are
    // not checked (the fake never was stricter for them).
    let installation = if state.github_installation(token).is_some() {
        match installation_of(state, token) {
            Ok(i) if i.scope.eq_ignore_ascii_case(&scope_name) => Some(i),
            Ok(_) => return error(StatusCode::NOT_FOUND, "Not Found"),
            Err(refusal) => return refusal.response(),
        }
    } else {
        None
    };
    let account = state.github.account_of_scope(&scope_name);
    let scope = state.scope(Provider::Github, &scope_name);
    let Some(repo) = scope
        .repos
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(&name))
        .filter(|r| installation.as_ref().is_none_or(|i| i.includes(r.id)))
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if branch != repo.default_branch() {
        return error(StatusCode::NOT_FOUND, "Branch not found");
    }
    if req.matches_etag(&repo.etag()) {
        return not_modified(&repo.etag());
    }
    with_etag(&repo.etag(), branch_json(&account, repo, &req.base))
}

fn paginated(req: &Incoming, body: Value, page: u64, pages: u64, per_page: u64) -> HttpResponse {
    let mut response = HttpResponse::Ok().json(body);
    let links = page_links(req, page, pages, per_page);
    if !links.is_empty() {
        set_header(&mut response, "link", &links);
    }
    response
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
