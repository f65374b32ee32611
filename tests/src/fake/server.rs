//! The HTTP server: routes each request to its provider, after the configured latency, through
//! faults, counters and rate-limit headers.

use super::github::webhooks::{Deliverer, flush};
use super::hostile::{self, HostileAnswer};
use super::http::{Incoming, set_header};
use super::state::{Budget, Fault, Provider, State};
use super::{admin, azure, bitbucket, github, gitlab};
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// State shared by every worker.
pub(crate) type Shared = Mutex<State>;

/// How long every provider request waits before it is answered.
#[derive(Clone, Copy, Debug)]
struct Latency(Duration);

/// A recognized provider endpoint.
enum Route {
    Gitlab(gitlab::Endpoint),
    Bitbucket(bitbucket::Endpoint),
    Azure(azure::Endpoint),
    Github(github::Endpoint),
}

impl Route {
    fn label(&self) -> &'static str {
        match self {
            Self::Gitlab(e) => e.label(),
            Self::Bitbucket(e) => e.label(),
            Self::Azure(e) => e.label(),
            Self::Github(e) => e.label(),
        }
    }
}

/// Which provider a path belongs to (all four share one port).
fn provider_of(req: &Incoming) -> Option<Provider> {
    if azure::claims(req) {
        return Some(Provider::Azure);
    }
    match req.segments.first().map(String::as_str) {
        Some("api") if req.segments.get(1).is_some_and(|s| s == "v4") => Some(Provider::Gitlab),
        Some("2.0") => Some(Provider::Bitbucket),
        Some("user" | "app" | "installation" | "repos" | "login" | "apps") => {
            Some(Provider::Github)
        }
        _ => None,
    }
}

fn route(provider: Provider, req: &Incoming) -> Option<Route> {
    match provider {
        Provider::Gitlab => gitlab::parse(req).map(Route::Gitlab),
        Provider::Bitbucket => bitbucket::parse(req).map(Route::Bitbucket),
        Provider::Azure => azure::parse(req).map(Route::Azure),
        Provider::Github => github::parse(req).map(Route::Github),
    }
}

fn error(provider: Option<Provider>, status: StatusCode, message: &str) -> HttpResponse {
    match provider {
        Some(Provider::Gitlab) => gitlab::error(status, message),
        Some(Provider::Bitbucket) => bitbucket::error(status, message),
        Some(Provider::Azure) => azure::error(status, message),
        Some(Provider::Github) => github::error(status, message),
        None => HttpResponse::build(status).json(serde_json::json!({ "message": message })),
    }
}

fn rate_headers(provider: Provider, response: &mut HttpResponse, budget: Budget, exhausted: bool) {
    match provider {
        Provider::Gitlab => gitlab::rate_headers(response, budget, exhausted),
        Provider::Bitbucket => bitbucket::rate_headers(response, budget, exhausted),
        Provider::Azure => azure::rate_headers(response, budget, exhausted),
        Provider::Github => github::rate_headers(response, budget, exhausted),
    }
}

/// The answer an injected fault gives instead of the real one.
fn failure(provider: Option<Provider>, fault: &Fault) -> HttpResponse {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "API rate limit exceeded",
        StatusCode::BAD_GATEWAY => "502 Bad Gateway",
        StatusCode::SERVICE_UNAVAILABLE => "503 Service Unavailable",
        _ => "500 Internal Server Error",
    };
    let mut response = error(provider, status, message);
    if let Some(seconds) = fault.retry_after {
        set_header(&mut response, "retry-after", &seconds.to_string());
        if provider == Some(Provider::Azure) && status == StatusCode::TOO_MANY_REQUESTS {
            set_header(&mut response, "X-RateLimit-Delay", &seconds.to_string());
        }
    }
    response
}

async fn provider_request(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
    latency: web::Data<Latency>,
    deliverer: web::Data<Deliverer>,
) -> HttpResponse {
    if !latency.0.is_zero() {
        tokio::time::sleep(latency.0).await;
    }
    let incoming = Incoming::from_request(&req, &body);
    let provider = provider_of(&incoming);
    let route = provider.and_then(|p| route(p, &incoming));
    // github.com's pages (OAuth, install) have no API rate limit.
    let web_page = matches!(&route, Some(Route::Github(e)) if e.is_web());
    let label = match (&route, provider) {
        (Some(r), _) => r.label().to_owned(),
        (None, Some(p)) => format!("{}.unknown", p.as_str()),
        (None, None) => "unknown".to_owned(),
    };

    let (mut response, budget, fault) = {
        let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
        state.count(&label);
        let credential = incoming.credential().unwrap_or_default();
        let budget = provider
            .filter(|_| !web_page)
            .map(|p| (p, state.charge(p, &credential)));
        let fault = state.take_fault(&incoming.path_and_query);
        let hostile = match fault {
            None => state.hostile_for(&incoming.path_and_query),
            Some(_) => None,
        };
        let mut response = match (&fault, &hostile, route) {
            (Some(fault), _, _) => failure(provider, fault),
            (None, Some(HostileAnswer::EndlessBody { bytes }), _) => hostile::endless_body(*bytes),
            (None, Some(HostileAnswer::RateLimited { headers }), _) => {
                hostile::rate_limited(headers)
            }
            (None, _, Some(Route::Gitlab(e))) => gitlab::serve(&mut state, &incoming, e),
            (None, _, Some(Route::Bitbucket(e))) => bitbucket::serve(&mut state, &incoming, e),
            (None, _, Some(Route::Azure(e))) => azure::serve(&mut state, &incoming, e),
            (None, _, Some(Route::Github(e))) => github::serve(&mut state, &incoming, e),
            (None, _, None) => error(provider, StatusCode::NOT_FOUND, "404 Not Found"),
        };
        if let Some(HostileAnswer::ClaimedPages { pages }) = hostile {
            let page = incoming.number("page", 1, u64::MAX);
            let per_page = incoming.number("per_page", 20, 100);
            hostile::claim_pages(&mut response, pages, page, per_page);
        }
        // A hostile 429 carries exactly its own headers.
        let budget = budget.filter(|_| {
            !matches!(
                hostile,
                Some(HostileAnswer::RateLimited { .. } | HostileAnswer::EndlessBody { .. })
            )
        });
        (response, budget, fault)
    };
    // The install flow's webhook reaches the App before the browser reaches the setup URL.
    flush(&shared, &deliverer).await;

    if let Some((provider, budget)) = budget {
        let exhausted = fault.is_some_and(|f| f.status == 429);
        rate_headers(provider, &mut response, budget, exhausted);
    }
    response
}

/// Binds `listener` and serves until the returned server is stopped.
pub(crate) fn serve(
    listener: TcpListener,
    state: Arc<Shared>,
    latency: Duration,
    deliverer: Deliverer,
) -> std::io::Result<actix_web::dev::Server> {
    let shared = web::Data::from(state);
    let latency = web::Data::new(Latency(latency));
    let deliverer = web::Data::new(deliverer);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(latency.clone())
            .app_data(deliverer.clone())
            .configure(admin::routes)
            .default_service(web::to(provider_request))
    })
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
