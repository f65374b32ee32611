//! Injected faults, revoked tokens, latency and the request statistics.

use crate::{azure, github_installation_token, gitlab, header, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tests::fake::{FakeCodeHost, FakeConfig, Fault};

#[tokio::test]
async fn an_injected_429_answers_retry_after_and_exhausted_headers_then_recovers() {
    let host = start(10).await;
    let injected = reqwest::Client::new()
        .post(format!("{}/_fake/faults", host.url()))
        .json(&json!({"path_contains": "/projects", "status": 429, "count": 1, "retry_after": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), StatusCode::OK);
    let url = format!("{}/api/v4/groups/g/projects?per_page=100", host.url());
    let limited = gitlab(&url, "t").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(limited.headers(), "retry-after"), "9");
    assert_eq!(header(limited.headers(), "ratelimit-remaining"), "0");
    assert_eq!(gitlab(&url, "t").await.status(), StatusCode::OK);

    host.inject_fault(Fault {
        path_contains: "/installation/repositories".into(),
        status: 503,
        count: 2,
        retry_after: None,
    });
    let token = github_installation_token(&host.url(), 1).await;
    let url = format!("{}/installation/repositories", host.url());
    let client = reqwest::Client::new();
    for expected in [503, 503, 200] {
        let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected);
    }
    let stats: Value = reqwest::get(format!("{}/_fake/stats", host.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults_served"], 3, "{stats}");
}

#[tokio::test]
async fn revoked_tokens_get_each_providers_refusal() {
    let host = start(1).await;
    let revoke = |token: &'static str| {
        let url = format!("{}/_fake/revoke", host.url());
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(revoke("glpat-old").await.status(), StatusCode::OK);
    revoke("azure-pat").await;

    let response = gitlab(
        &format!("{}/api/v4/personal_access_tokens/self", host.url()),
        "glpat-old",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "401 Unauthorized");

    let response = azure(
        &format!("{}/org/_apis/connectionData", host.url()),
        "azure-pat",
    )
    .await;
    assert_eq!(response.status(), StatusCode::NON_AUTHORITATIVE_INFORMATION);
    assert!(header(response.headers(), "content-type").starts_with("text/html"));

    let token = github_installation_token(&host.url(), 1).await;
    host.revoke_token(&token);
    let response = reqwest::Client::new()
        .get(format!("{}/installation/repositories", host.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = reqwest::Client::new()
        .get(format!("{}/2.0/repositories/ws", host.url()))
        .bearer_auth("glpat-old")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
}

#[tokio::test]
async fn stats_count_requests_per_endpoint_and_latency_delays_each_answer() {
    let host = FakeCodeHost::start(FakeConfig {
        repos_per_scope: 1,
        latency: Duration::from_millis(100),
        listen: None,
    })
    .await
    .unwrap();
    let started = Instant::now();
    gitlab(&format!("{}/api/v4/groups/g/projects", host.url()), "t").await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    gitlab(&format!("{}/api/v4/groups/g", host.url()), "t").await;

    let stats: Value = reqwest::get(format!("{}/_fake/stats", host.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["by_endpoint"]["gitlab.projects"], 1);
    assert_eq!(stats["by_endpoint"]["gitlab.group"], 1);
    assert_eq!(stats["faults_served"], 0);
    reqwest::Client::new()
        .post(format!("{}/_fake/reset-stats", host.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(host.stats().requests, 0);
}
