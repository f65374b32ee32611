//! The admin API under `/_fake/github/`: register the App, sign the browser in, add
//! organizations, shorten token lifetimes and move the clock, and act as an owner on an
//! installation (each change delivers its webhook).

use super::ops::{self, OpError};
use super::payloads::{installation_json, user_json};
use super::webhooks::{DeliverWebhook, Deliverer, flush};
use super::world::{GithubApp, GithubOrg, GithubUser};
use crate::fake::server::Shared;
use crate::fake::state::State;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// Registers the routes (inside the `/_fake` scope).
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/github/app", web::get().to(app))
        .route("/github/app", web::post().to(register))
        .route("/github/session", web::post().to(session))
        .route("/github/orgs", web::post().to(orgs))
        .route("/github/token-lifetime", web::post().to(token_lifetime))
        .route("/github/clock", web::post().to(clock))
        .route("/github/strict", web::post().to(strict))
        .route("/github/installations", web::get().to(installations))
        .route("/github/requests", web::get().to(requests))
        .route("/github/requests/approve", web::post().to(approve))
        .route(
            "/github/installations/{id}/{action}",
            web::post().to(installation_action),
        )
        .route(
            "/github/installations/{id}/repositories/{action}",
            web::post().to(repositories),
        )
        .route("/github/webhooks/deliver", web::post().to(deliver))
        .route("/github/webhooks/deliveries", web::get().to(deliveries));
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn refused(e: &OpError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(e.status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({ "error": e.message }))
}

/// Runs an operation under the lock, then sends what it queued and reports it.
async fn run(
    shared: &Shared,
    deliverer: &Deliverer,
    op: impl FnOnce(&mut State) -> Result<Value, OpError>,
) -> HttpResponse {
    let outcome = op(&mut lock(shared));
    match outcome {
        Ok(mut body) => {
            let sent = flush(shared, deliverer).await;
            body["deliveries"] = serde_json::to_value(sent).unwrap_or_default();
            HttpResponse::Ok().json(body)
        }
        Err(e) => refused(&e),
    }
}

/// The App's registration; every field optional, an absent one keeps its value.
#[derive(Deserialize)]
struct AppRequest {
    app_id: Option<u64>,
    slug: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    callback_url: Option<String>,
    setup_url: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
}

fn app_json(app: &GithubApp) -> Value {
    serde_json::to_value(app).unwrap_or_default()
}

async fn app(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(app_json(&lock(&shared).github.app))
}

async fn register(shared: web::Data<Shared>, body: web::Json<AppRequest>) -> HttpResponse {
    let body = body.into_inner();
    let mut state = lock(&shared);
    let app = &mut state.github.app;
    let blank = |v: String| (!v.trim().is_empty()).then_some(v);
    if let Some(id) = body.app_id {
        app.app_id = id;
    }
    for (value, field) in [
        (body.slug, &mut app.slug),
        (body.client_id, &mut app.client_id),
        (body.client_secret, &mut app.client_secret),
        (body.webhook_secret, &mut app.webhook_secret),
    ] {
        if let Some(value) = value {
            *field = value;
        }
    }
    // An empty string clears an optional URL.
    for (value, field) in [
        (body.callback_url, &mut app.callback_url),
        (body.setup_url, &mut app.setup_url),
        (body.webhook_url, &mut app.webhook_url),
    ] {
        if let Some(value) = value {
            *field = blank(value);
        }
    }
    HttpResponse::Ok().json(app_json(app))
}

async fn session(shared: web::Data<Shared>, body: web::Json<GithubUser>) -> HttpResponse {
    let user = body.into_inner();
    lock(&shared).github.set_session(user.clone());
    HttpResponse::Ok().json(user_json(&user))
}

async fn orgs(shared: web::Data<Shared>, body: web::Json<GithubOrg>) -> HttpResponse {
    let org = body.into_inner();
    if org.login.parse::<u64>().is_ok() {
        return HttpResponse::BadRequest()
            .json(json!({ "error": "a numeric login is the fake's name for an installation" }));
    }
    lock(&shared).github.add_org(org.clone());
    HttpResponse::Ok().json(org)
}

#[derive(Deserialize)]
struct Seconds {
    seconds: i64,
}

async fn token_lifetime(shared: web::Data<Shared>, body: web::Json<Seconds>) -> HttpResponse {
    if body.seconds <= 0 {
        return HttpResponse::BadRequest().json(json!({ "error": "seconds must be > 0" }));
    }
    lock(&shared).github.tokens.access_token_lifetime = body.seconds;
    HttpResponse::Ok().json(json!({ "access_token_lifetime": body.seconds }))
}

#[derive(Deserialize)]
struct Advance {
    advance_seconds: i64,
}

async fn clock(shared: web::Data<Shared>, body: web::Json<Advance>) -> HttpResponse {
    let mut state = lock(&shared);
    state.github.advance(body.advance_seconds);
    HttpResponse::Ok().json(json!({ "now": super::payloads::time(state.github.now()) }))
}

#[derive(Deserialize)]
struct Strict {
    reject_unknown_user_tokens: bool,
}

async fn strict(shared: web::Data<Shared>, body: web::Json<Strict>) -> HttpResponse {
    lock(&shared).github.reject_unknown_user_tokens = body.reject_unknown_user_tokens;
    HttpResponse::Ok()
        .json(json!({ "reject_unknown_user_tokens": body.reject_unknown_user_tokens }))
}

async fn installations(shared: web::Data<Shared>) -> HttpResponse {
    let state = lock(&shared);
    let list: Vec<Value> = state
        .github
        .installations
        .values()
        .map(|i| {
            let mut doc = installation_json(i, &state.github.app);
            doc["deleted"] = json!(i.deleted);
            doc
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn requests(shared: web::Data<Shared>) -> HttpResponse {
    let list: Vec<Value> = lock(&shared)
        .github
        .requests()
        .iter()
        .map(
            |(account, requester)| json!({ "account": account, "requester": user_json(requester) }),
        )
        .collect();
    HttpResponse::Ok().json(list)
}

#[derive(Deserialize)]
struct ApproveRequest {
    account: String,
}

async fn approve(
    shared: web::Data<Shared>,
    deliverer: web::Data<Deliverer>,
    body: web::Json<ApproveRequest>,
) -> HttpResponse {
    run(&shared, &deliverer, |s| ops::approve(s, &body.account)).await
}

async fn installation_action(
    shared: web::Data<Shared>,
    deliverer: web::Data<Deliverer>,
    path: web::Path<(u64, String)>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    match action.as_str() {
        "uninstall" => run(&shared, &deliverer, |s| ops::uninstall(s, id)).await,
        "suspend" => run(&shared, &deliverer, |s| ops::set_suspended(s, id, true)).await,
        "unsuspend" => run(&shared, &deliverer, |s| ops::set_suspended(s, id, false)).await,
        _ => HttpResponse::NotFound().json(json!({ "error": "uninstall, suspend or unsuspend" })),
    }
}

#[derive(Deserialize)]
struct RepositoriesRequest {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    count: usize,
}

async fn repositories(
    shared: web::Data<Shared>,
    deliverer: web::Data<Deliverer>,
    path: web::Path<(u64, String)>,
    body: web::Json<RepositoriesRequest>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    match action.as_str() {
        "remove" => {
            run(&shared, &deliverer, |s| {
                ops::remove_repositories(s, id, &body.names)
            })
            .await
        }
        "add" => {
            run(&shared, &deliverer, |s| {
                ops::add_repositories(s, id, body.count)
            })
            .await
        }
        _ => HttpResponse::NotFound().json(json!({ "error": "remove or add" })),
    }
}

async fn deliver(
    shared: web::Data<Shared>,
    deliverer: web::Data<Deliverer>,
    body: web::Json<DeliverWebhook>,
) -> HttpResponse {
    let request = body.into_inner();
    let queued = ops::deliver(&mut lock(&shared), request);
    match queued {
        Ok(_) => {
            let sent = flush(&shared, &deliverer).await;
            match sent.into_iter().next() {
                Some(delivery) => HttpResponse::Ok().json(delivery),
                None => HttpResponse::InternalServerError()
                    .json(json!({ "error": "the delivery was not sent" })),
            }
        }
        Err(e) => refused(&e),
    }
}

async fn deliveries(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(lock(&shared).github.hooks.deliveries())
}
