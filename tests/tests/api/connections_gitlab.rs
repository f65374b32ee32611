//! `createGitLabConnection`: syntax first, then the live check (token introspection, group,
//! role); every failure is a typed user error and nothing is stored.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use entities::connection;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CREATE_GITLAB: &str = "mutation($input: CreateGitLabConnectionInput!) {
  createGitLabConnection(input: $input) {
    connection { id provider name status statusMessage groupPath instanceUrl tokenHint repositoryCount nextDiscoveryAt createdAt }
    userErrors { field code message } } }";

async fn app_for(backend: Backend, gitlab: &MockServer) -> TestApp {
    let uri = gitlab.uri();
    spawn_app_with(backend, move |raw| raw.gitlab_url = uri).await
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app
        .graphql(Some(token), CREATE_GITLAB, json!({"input": input}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createGitLabConnection"].clone()
}

fn input() -> Value {
    json!({"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN})
}

async fn stored_connections(app: &TestApp) -> u64 {
    connection::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

/// The single user error of a failed create: (code, field, message).
fn only_error(payload: &Value) -> (String, Option<String>, String) {
    assert!(payload["connection"].is_null(), "{payload}");
    let errors = payload["userErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{payload}");
    (
        errors[0]["code"].as_str().unwrap().to_owned(),
        errors[0]["field"].as_str().map(str::to_owned),
        errors[0]["message"].as_str().unwrap().to_owned(),
    )
}

async fn create_gitlab_connection_saves_a_valid_connection(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let payload = create(
        &app,
        &owner.token,
        json!({"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN, "name": "Main group"}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]));
    let conn = &payload["connection"];
    assert_eq!(conn["provider"], "GITLAB");
    assert_eq!(conn["name"], "Main group");
    assert_eq!(conn["status"], "PENDING");
    assert_eq!(conn["groupPath"], "ghost/mygroup");
    assert_eq!(conn["instanceUrl"], Value::Null);
    assert_eq!(conn["tokenHint"], "…9a1b");
    assert_eq!(conn["repositoryCount"], 0);
    assert!(conn["nextDiscoveryAt"].is_string());
    assert_eq!(stored_connections(&app).await, 1);

    let listed = app
        .graphql(
            Some(&owner.token),
            "{ connections(first: 10) { totalCount edges { node { id name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["connections"]["totalCount"], 1);
    assert_eq!(
        listed["data"]["connections"]["edges"][0]["node"]["id"],
        conn["id"]
    );
}

async fn create_gitlab_connection_defaults_its_name_to_the_group(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let payload = create(&app, &owner.token, input()).await;
    assert_eq!(payload["connection"]["name"], "ghost / mygroup");
}

async fn create_gitlab_connection_rejects_a_malformed_group_path_without_calling_gitlab(
    backend: Backend,
) {
    let gitlab = healthy_gitlab().await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let payload = create(
        &app,
        &owner.token,
        json!({"groupPath": "ghost//my group", "token": GITLAB_TOKEN}),
    )
    .await;
    let (code, field, _) = only_error(&payload);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_INPUT", Some("groupPath"))
    );
    assert_eq!(request_count(&gitlab).await, 0);
    assert_eq!(stored_connections(&app).await, 0);
}

async fn create_gitlab_connection_reports_every_malformed_field_at_once(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let payload = create(
        &app,
        &owner.token,
        json!({"groupPath": "-bad", "token": " ", "instanceUrl": "ftp://x"}),
    )
    .await;
    let mut fields: Vec<&str> = payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["groupPath", "instanceUrl", "token"]);
}

async fn create_gitlab_connection_rejects_an_unknown_token(backend: Backend) {
    let gitlab = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/self"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&gitlab)
        .await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, field, _) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_TOKEN", Some("token"))
    );
    assert_eq!(stored_connections(&app).await, 0);
}

async fn create_gitlab_connection_rejects_an_expired_token(backend: Backend) {
    // GitLab answers an expired token with 401 and an OAuth-style description…
    let gitlab = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/self"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_token", "error_description": "Token has expired."})))
        .mount(&gitlab)
        .await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, _, _) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "TOKEN_EXPIRED");

    // …and a token past its expiry date that still introspects is expired too.
    let gitlab = MockServer::start().await;
    gitlab_token(
        &gitlab,
        &["read_api", "read_repository"],
        Some("2020-01-01"),
        false,
    )
    .await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, _, message) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "TOKEN_EXPIRED");
    assert!(message.contains("2020-01-01"), "{message}");
    assert_eq!(stored_connections(&app).await, 0);
}

async fn create_gitlab_connection_names_the_missing_scopes(backend: Backend) {
    let gitlab = MockServer::start().await;
    gitlab_token(&gitlab, &["read_api", "read_user"], None, true).await;
    gitlab_group(&gitlab).await;
    gitlab_member(&gitlab, 30).await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, field, message) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INSUFFICIENT_SCOPE", Some("token"))
    );
    assert!(
        message.contains("read_repository") && !message.contains("read_api"),
        "{message}"
    );
}

async fn create_gitlab_connection_requires_the_reporter_role(backend: Backend) {
    let gitlab = MockServer::start().await;
    gitlab_token(&gitlab, &["read_api", "read_repository"], None, true).await;
    gitlab_group(&gitlab).await;
    gitlab_member(&gitlab, 10).await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, _, message) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "INSUFFICIENT_ROLE");
    assert!(message.contains("Guest"), "{message}");
}

async fn create_gitlab_connection_treats_a_non_member_as_insufficient_role(backend: Backend) {
    let gitlab = MockServer::start().await;
    gitlab_token(&gitlab, &["api", "read_repository"], None, true).await;
    gitlab_group(&gitlab).await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, _, _) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "INSUFFICIENT_ROLE");
}

async fn create_gitlab_connection_reports_an_unknown_group(backend: Backend) {
    let gitlab = MockServer::start().await;
    gitlab_token(&gitlab, &["read_api", "read_repository"], None, true).await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/ghost%2Fmygroup"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "404 Group Not Found"})),
        )
        .mount(&gitlab)
        .await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, field, _) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("SCOPE_NOT_FOUND", Some("groupPath"))
    );
}

async fn create_gitlab_connection_reports_an_unreachable_instance(backend: Backend) {
    let gitlab = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&gitlab)
        .await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    let (code, _, message) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "UNREACHABLE");
    assert!(message.contains("502"), "{message}");

    // Nothing listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = spawn_app_with(backend, move |raw| {
        raw.gitlab_url = format!("http://{closed}")
    })
    .await;
    let owner = app.owner().await;
    let (code, _, message) = only_error(&create(&app, &owner.token, input()).await);
    assert_eq!(code.as_str(), "UNREACHABLE");
    assert!(message.contains("connect"), "{message}");
}

async fn create_gitlab_connection_refuses_a_duplicate_scope(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = app_for(backend, &gitlab).await;
    let owner = app.owner().await;
    assert_eq!(
        create(&app, &owner.token, input()).await["userErrors"],
        json!([])
    );
    let again = create(
        &app,
        &owner.token,
        json!({"groupPath": "Ghost/MyGroup/", "token": GITLAB_TOKEN}),
    )
    .await;
    let (code, _, _) = only_error(&again);
    assert_eq!(code.as_str(), "DUPLICATE_CONNECTION");
    assert_eq!(stored_connections(&app).await, 1);
}

async fn self_hosted_instance_urls_on_private_networks_are_refused_by_default(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = spawn_app_with(backend, |_| {}).await;
    let owner = app.owner().await;
    // Loopback by name, by IP and plain http: each refused before any packet is sent.
    let https_loopback = gitlab
        .uri()
        .replace("http://127.0.0.1", "https://localhost");
    for url in [
        https_loopback.as_str(),
        "https://127.0.0.1:1/",
        "https://169.254.169.254/",
        gitlab.uri().as_str(),
    ] {
        let payload = create(
            &app,
            &owner.token,
            json!({"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN, "instanceUrl": url}),
        )
        .await;
        let (code, field, _) = only_error(&payload);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("INVALID_INPUT", Some("instanceUrl")),
            "{url}: {payload}"
        );
    }
    assert_eq!(request_count(&gitlab).await, 0);
    assert_eq!(stored_connections(&app).await, 0);
}

async fn self_hosted_instance_urls_work_when_private_networks_are_allowed(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let app = spawn_app_with(backend, |raw| raw.allow_private_networks = true).await;
    let owner = app.owner().await;
    let url = format!("{}/", gitlab.uri());
    let payload = create(
        &app,
        &owner.token,
        json!({"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN, "instanceUrl": url}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert_eq!(payload["connection"]["instanceUrl"], gitlab.uri());
}

on_both_backends!(
    create_gitlab_connection_saves_a_valid_connection,
    create_gitlab_connection_defaults_its_name_to_the_group,
    create_gitlab_connection_rejects_a_malformed_group_path_without_calling_gitlab,
    create_gitlab_connection_reports_every_malformed_field_at_once,
    create_gitlab_connection_rejects_an_unknown_token,
    create_gitlab_connection_rejects_an_expired_token,
    create_gitlab_connection_names_the_missing_scopes,
    create_gitlab_connection_requires_the_reporter_role,
    create_gitlab_connection_treats_a_non_member_as_insufficient_role,
    create_gitlab_connection_reports_an_unknown_group,
    create_gitlab_connection_reports_an_unreachable_instance,
    create_gitlab_connection_refuses_a_duplicate_scope,
    self_hosted_instance_urls_on_private_networks_are_refused_by_default,
    self_hosted_instance_urls_work_when_private_networks_are_allowed,
);
