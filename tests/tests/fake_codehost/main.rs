//! The fake code host over real HTTP: each provider's listing, pagination headers, changes,
//! faults, ETags, revoked tokens and the admin API.
//!
//! One module per concept: `listing` (each provider's scopes and pagination), `mutations`
//! (admin changes that keep ids, ETags), `faults_and_stats`, and the GitHub App's
//! `github_oauth`, `github_install` and `github_webhooks`; `receiver` stands in for Tether's
//! webhook endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults_and_stats;
mod github_install;
mod github_oauth;
mod github_webhooks;
mod listing;
mod mutations;
mod receiver;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig};

async fn start(repos: usize) -> FakeCodeHost {
    FakeCodeHost::start(FakeConfig {
        repos_per_scope: repos,
        latency: Duration::ZERO,
        listen: None,
    })
    .await
    .unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

/// The URL of `rel` in an RFC 8288 `Link` header.
fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(", ").find_map(|part| {
        let (url, params) = part.split_once(';')?;
        (params.trim() == format!("rel=\"{rel}\""))
            .then(|| url.trim_matches(|c| c == '<' || c == '>').to_owned())
    })
}

async fn gitlab(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("PRIVATE-TOKEN", token)
        .send()
        .await
        .unwrap()
}

async fn azure(url: &str, pat: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .basic_auth("", Some(pat))
        .send()
        .await
        .unwrap()
}

async fn github_installation_token(base: &str, installation: u64) -> String {
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/app/installations/{installation}/access_tokens"
        ))
        .bearer_auth("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    body["token"].as_str().unwrap().to_owned()
}

// ---- GitHub App: shared by the OAuth, install and webhook modules -------------------------

/// A browser that does not follow redirects, so a test can read each `Location`.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The query parameters of a redirect's `Location`.
fn location(response: &reqwest::Response) -> (String, Vec<(String, String)>) {
    assert_eq!(response.status(), StatusCode::FOUND, "not a redirect");
    let url = url::Url::parse(header(response.headers(), "location")).unwrap();
    let params = url.query_pairs().into_owned().collect();
    (
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        params,
    )
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn admin(host: &FakeCodeHost, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_fake/github/{path}", host.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Registers the App pointed at `receiver` as Tether (setup and webhook URLs).
async fn register_app(host: &FakeCodeHost, tether: &str) {
    let (status, app) = admin(
        host,
        "app",
        json!({
            "slug": "tether",
            "client_id": "Iv1.test",
            "client_secret": "test-client-secret",
            "setup_url": format!("{tether}/github/setup"),
            "webhook_url": format!("{tether}/webhooks/github"),
            "webhook_secret": "test-webhook-secret",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{app}");
}

/// `POST /login/oauth/access_token` with a form body, asking for JSON.
async fn token_request(host: &FakeCodeHost, form: &[(&str, &str)]) -> Value {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = reqwest::Client::new()
        .post(format!("{}/login/oauth/access_token", host.url()))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The signed-in user authorizes; returns the code (and checks `state` came back unchanged).
async fn authorize(host: &FakeCodeHost, redirect_uri: &str) -> String {
    let response = browser()
        .get(format!("{}/login/oauth/authorize", host.url()))
        .query(&[
            ("client_id", "Iv1.test"),
            ("redirect_uri", redirect_uri),
            ("state", "s t&ate/1"),
        ])
        .send()
        .await
        .unwrap();
    let (target, params) = location(&response);
    assert_eq!(target, redirect_uri);
    assert_eq!(param(&params, "state"), Some("s t&ate/1"));
    param(&params, "code").unwrap().to_owned()
}

/// The whole dance for the signed-in user: (access token, refresh token).
async fn user_token(host: &FakeCodeHost) -> (String, String) {
    let code = authorize(host, "http://tether.test/github/callback").await;
    let body = token_request(
        host,
        &[
            ("client_id", "Iv1.test"),
            ("client_secret", "test-client-secret"),
            ("code", &code),
        ],
    )
    .await;
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// The signed-in user installs the App; returns the redirect's parameters.
async fn install(host: &FakeCodeHost, query: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let response = browser()
        .get(format!("{}/apps/tether/installations/new", host.url()))
        .query(query)
        .send()
        .await
        .unwrap();
    location(&response)
}
