//! The GitHub web flows' HTTP ends: `/auth/github/link` starts linking (authenticated like any
//! request), `/auth/github/callback` and `/github/setup` are where GitHub sends the browser back
//! (no Authorization header: the single-use state names the user). Every answer is a redirect
//! or a small JSON error, never cached.

use crate::auth::{Viewer, viewer};
use crate::services::github_flow::{self, FlowError};
use crate::services::github_install;
use crate::services::oauth_states::StateRefused;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use url::Url;

/// What GitHub appends to the callback URL.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// What GitHub appends to the app's setup URL.
#[derive(Deserialize)]
pub struct Setup {
    installation_id: Option<String>,
    setup_action: Option<String>,
    state: Option<String>,
}

fn redirect(to: &Url) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, to.as_str()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({ "error": message }))
}

fn failed(err: FlowError) -> HttpResponse {
    match err {
        FlowError::NotConfigured(_) => error(StatusCode::SERVICE_UNAVAILABLE, &err.to_string()),
        FlowError::State(StateRefused::Database(db)) => {
            tracing::error!(error = %db, "reading an OAuth state failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        FlowError::State(refused) => {
            tracing::info!(reason = %refused, "a GitHub flow came back with a refused state");
            error(StatusCode::BAD_REQUEST, &refused.to_string())
        }
        FlowError::Forbidden(_) => error(StatusCode::FORBIDDEN, &err.to_string()),
        FlowError::GitHub(message) => error(StatusCode::BAD_GATEWAY, &message),
        FlowError::Api(api) => {
            tracing::error!(cause = ?api, "a GitHub flow failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The caller, if the request carries a valid bearer token.
async fn caller(req: &HttpRequest, state: &AppState) -> Result<Option<Viewer>, HttpResponse> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    viewer::from_header(&state.db, header).await.map_err(|err| {
        tracing::error!(error = %err, "could not resolve the bearer token");
        error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })
}

/// `GET /auth/github/link`: redirects the signed-in user to GitHub to authorize the app.
pub async fn link(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let viewer = match caller(&req, &state).await {
        Ok(Some(viewer)) => viewer,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "authentication required: send Authorization: Bearer <token>",
            );
        }
        Err(response) => return response,
    };
    match github_flow::link_url(&state, &viewer).await {
        Ok(url) => redirect(&url),
        Err(err) => failed(err),
    }
}

/// `GET /auth/github/callback`: GitHub sends the browser back with a code to link the account.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Callback>,
) -> HttpResponse {
    let caller = match caller(&req, &state).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let outcome = github_flow::finish_link(
        &state,
        query.code.as_deref(),
        query.state.as_deref(),
        query.error.as_deref(),
        caller.as_ref(),
    )
    .await;
    match outcome {
        Ok(url) => redirect(&url),
        Err(err) => failed(err),
    }
}

/// `GET /github/setup`: GitHub sends the browser back after installing the app, requesting
/// its installation, or changing it.
pub async fn setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Setup>,
) -> HttpResponse {
    let caller = match caller(&req, &state).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let outcome = github_install::finish_setup(
        &state,
        query.installation_id.as_deref(),
        query.setup_action.as_deref(),
        query.state.as_deref(),
        caller.as_ref(),
    )
    .await;
    match outcome {
        Ok(url) => redirect(&url),
        Err(err) => failed(err),
    }
}
