//! GitHub on the fake's one origin: the REST API a GitHub App and its users call, the web pages
//! of the OAuth and install flows (as if the signed-in user clicked through them), and the
//! webhooks the App receives.

pub(crate) mod admin;
mod install;
mod oauth;
pub(crate) mod ops;
mod payloads;
pub(crate) mod repo_events;
mod rest;
mod tokens;
pub(crate) mod webhooks;
pub(crate) mod world;

use super::http::{Incoming, set_header};
use super::state::{Budget, State};
use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode};
use serde_json::json;

/// A GitHub endpoint the fake serves.
#[derive(Debug)]
pub(crate) enum Endpoint {
    User,
    UserInstallations,
    AccessToken(String),
    Repositories,
    Branch(String, String, String),
    Authorize,
    OAuthToken,
    Install(String),
}

impl Endpoint {
    /// Label for the statistics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::User => "github.user",
            Self::UserInstallations => "github.installations",
            Self::AccessToken(_) => "github.access_token",
            Self::Repositories => "github.repositories",
            Self::Branch(..) => "github.branch",
            Self::Authorize => "github.authorize",
            Self::OAuthToken => "github.access_token_oauth",
            Self::Install(_) => "github.install",
        }
    }

    /// A page of github.com rather than the API: no rate-limit budget, no API credential.
    pub fn is_web(&self) -> bool {
        matches!(self, Self::Authorize | Self::OAuthToken | Self::Install(_))
    }
}

/// Recognizes GitHub's paths.
pub(crate) fn parse(req: &Incoming) -> Option<Endpoint> {
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match req.parts().as_slice() {
        ["user"] if get => Some(Endpoint::User),
        ["user", "installations"] if get => Some(Endpoint::UserInstallations),
        ["app", "installations", id, "access_tokens"] if post => {
            Some(Endpoint::AccessToken((*id).to_owned()))
        }
        ["installation", "repositories"] if get => Some(Endpoint::Repositories),
        ["repos", owner, repo, "branches", branch @ ..] if get && !branch.is_empty() => Some(
            Endpoint::Branch((*owner).to_owned(), (*repo).to_owned(), branch.join("/")),
        ),
        ["login", "oauth", "authorize"] if get => Some(Endpoint::Authorize),
        ["login", "oauth", "access_token"] if post => Some(Endpoint::OAuthToken),
        ["apps", slug, "installations", "new"] if get => {
            Some(Endpoint::Install((*slug).to_owned()))
        }
        _ => None,
    }
}

/// GitHub's API error body.
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

/// A github.com page: plain HTML with a status.
pub(crate) fn page(status: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><html><head><title>{text}</title></head><body><p>{text}</p></body></html>"
        ))
}

/// Answers a recognized GitHub request.
pub(crate) fn serve(state: &mut State, req: &Incoming, endpoint: Endpoint) -> HttpResponse {
    match endpoint {
        Endpoint::Authorize => return oauth::authorize(state, req),
        Endpoint::OAuthToken => return oauth::access_token(state, req),
        Endpoint::Install(slug) => return install::install(state, req, &slug),
        _ => {}
    }
    let credential = req.credential().filter(|t| !state.is_revoked(t));
    let Some(token) = credential else {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    match endpoint {
        Endpoint::User => rest::user(state, &token),
        Endpoint::UserInstallations => rest::user_installations(state, req, &token),
        Endpoint::AccessToken(id) => rest::access_token(state, &token, &id),
        Endpoint::Repositories => rest::repositories(state, req, &token),
        Endpoint::Branch(owner, repo, branch) => {
            rest::branch(state, req, &token, (owner, repo, branch))
        }
        Endpoint::Authorize | Endpoint::OAuthToken | Endpoint::Install(_) => {
            error(StatusCode::NOT_FOUND, "Not Found")
        }
    }
}
