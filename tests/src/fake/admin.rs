//! The admin API under `/_fake/`: shape scopes, change repositories, revoke tokens, inject
//! faults, answer in hostile ways (`POST`/`DELETE /_fake/hostile`), read request and
//! served-fault counters (GitHub's own part is `github::admin`).

use super::github::repo_events::{Change, repository_changed};
use super::github::webhooks::{Deliverer, flush};
use super::hostile::Hostile;
use super::server::Shared;
use super::state::{Fault, Provider, RepoInfo, State, Target};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

/// Registers the admin routes.
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/_fake")
            .route("/scopes", web::post().to(scopes))
            .route("/mutate", web::post().to(mutate))
            .route("/revoke", web::post().to(revoke))
            .route("/faults", web::post().to(faults))
            .route("/hostile", web::post().to(set_hostile))
            .route("/hostile", web::delete().to(clear_hostile))
            .route("/stats", web::get().to(stats))
            .route("/reset-stats", web::post().to(reset_stats))
            .configure(super::github::admin::routes),
    );
}

#[derive(Deserialize)]
struct ScopeRequest {
    provider: Provider,
    scope: String,
    repos: usize,
}

/// What a mutation does.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Op {
    Add,
    Rename,
    Remove,
    Transfer,
    Push,
}

/// A repository id in JSON: a number, or a UUID (with or without braces) or number as text.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
struct MutateRequest {
    provider: Provider,
    scope: String,
    op: Op,
    index: Option<usize>,
    id: Option<IdValue>,
    name: Option<String>,
    to_scope: Option<String>,
}

#[derive(Deserialize)]
struct RevokeRequest {
    token: String,
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

async fn scopes(shared: web::Data<Shared>, body: web::Json<ScopeRequest>) -> HttpResponse {
    lock(&shared).set_repos(body.provider, &body.scope, body.repos);
    HttpResponse::Ok().json(json!({
        "provider": body.provider,
        "scope": body.scope,
        "repos": body.repos,
    }))
}

fn target(body: &MutateRequest) -> Option<Target> {
    match (&body.id, body.index) {
        (Some(IdValue::Number(id)), _) => Some(Target::Id(*id)),
        (Some(IdValue::Text(text)), _) => {
            let trimmed = text.trim_matches(|c| c == '{' || c == '}');
            match (trimmed.parse::<u64>(), uuid::Uuid::parse_str(trimmed)) {
                (Ok(id), _) => Some(Target::Id(id)),
                (_, Ok(uuid)) => Some(Target::Uuid(uuid)),
                _ => None,
            }
        }
        (None, Some(index)) => Some(Target::Index(index)),
        (None, None) => None,
    }
}

async fn mutate(
    shared: web::Data<Shared>,
    deliverer: web::Data<Deliverer>,
    body: web::Json<MutateRequest>,
) -> HttpResponse {
    let info = match change(&mut lock(&shared), &body) {
        Ok(info) => info,
        Err((status, message)) => {
            return HttpResponse::build(status).json(json!({ "error": message }));
        }
    };
    if body.provider != Provider::Github {
        return HttpResponse::Ok().json(info);
    }
    let sent = flush(&shared, &deliverer).await;
    let mut out = serde_json::to_value(&info).unwrap_or_default();
    out["deliveries"] = serde_json::to_value(sent).unwrap_or_default();
    HttpResponse::Ok().json(out)
}

/// Applies a mutation; on GitHub it also queues the webhook github.com would send.
fn change(state: &mut State, body: &MutateRequest) -> Result<RepoInfo, (StatusCode, &'static str)> {
    let (provider, scope) = (body.provider, body.scope.as_str());
    let github = provider == Provider::Github;
    let mut before = None;
    let done: Option<RepoInfo> = if body.op == Op::Add {
        Some(state.add(provider, scope, body.name.as_deref()))
    } else {
        let Some(target) = target(body) else {
            return Err((
                StatusCode::BAD_REQUEST,
                "give \"index\" or \"id\" of the repository",
            ));
        };
        if github {
            let found = state.scope(provider, scope);
            before = found.position(target).map(|at| found.repos[at].clone());
        }
        match body.op {
            Op::Add => None,
            Op::Rename => match &body.name {
                Some(name) => state.rename(provider, scope, target, name),
                None => return Err((StatusCode::BAD_REQUEST, "rename needs \"name\"")),
            },
            Op::Remove => state.remove(provider, scope, target),
            Op::Push => state.push(provider, scope, target),
            Op::Transfer => match &body.to_scope {
                Some(to) => state.transfer(provider, scope, target, to),
                None => return Err((StatusCode::BAD_REQUEST, "transfer needs \"to_scope\"")),
            },
        }
    };
    let Some(info) = done else {
        return Err((StatusCode::NOT_FOUND, "no such repository"));
    };
    if github {
        let change = match (body.op, &before) {
            (Op::Add, _) => Some(Change::Created),
            (Op::Remove, _) => Some(Change::Deleted),
            (Op::Rename, Some(old)) => Some(Change::Renamed {
                from: old.name.clone(),
            }),
            (Op::Push, Some(old)) => Some(Change::Pushed { before: old.sha() }),
            (Op::Transfer, _) => Some(Change::Transferred {
                from_scope: scope.to_owned(),
            }),
            (Op::Rename | Op::Push, None) => None,
        };
        if let Some(change) = change {
            repository_changed(state, change, &info, before);
        }
    }
    Ok(info)
}

async fn revoke(shared: web::Data<Shared>, body: web::Json<RevokeRequest>) -> HttpResponse {
    lock(&shared).revoke(&body.token);
    HttpResponse::Ok().json(json!({ "revoked": true }))
}

async fn faults(shared: web::Data<Shared>, body: web::Json<Fault>) -> HttpResponse {
    if !matches!(body.status, 429 | 500..=599) {
        return bad_request("status must be 429 or 5xx");
    }
    let fault = body.into_inner();
    lock(&shared).inject(fault.clone());
    HttpResponse::Ok().json(fault)
}

async fn set_hostile(shared: web::Data<Shared>, body: web::Json<Hostile>) -> HttpResponse {
    let rule = body.into_inner();
    lock(&shared).set_hostile(rule.clone());
    HttpResponse::Ok().json(rule)
}

async fn clear_hostile(shared: web::Data<Shared>) -> HttpResponse {
    lock(&shared).clear_hostile();
    HttpResponse::Ok().json(json!({ "cleared": true }))
}

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(lock(&shared).stats())
}

async fn reset_stats(shared: web::Data<Shared>) -> HttpResponse {
    let mut state = lock(&shared);
    state.reset_stats();
    HttpResponse::Ok().json(state.stats())
}
