//! `createBitbucketConnection`: workspace access tokens (Bearer) and Atlassian API tokens with
//! an email (Basic); repository and project read are both checked.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const CREATE: &str = "mutation($input: CreateBitbucketConnectionInput!) {
  createBitbucketConnection(input: $input) {
    connection { id provider name status workspaceId tokenHint }
    userErrors { field code message } } }";

async fn app_for(backend: Backend, server: &MockServer) -> TestApp {
    let uri = server.uri();
    spawn_app_with(backend, move |raw| raw.bitbucket_api_url = uri).await
}

async fn create(app: &TestApp, input: Value) -> Value {
    let owner = app.owner().await;
    let body = app
        .graphql(Some(&owner.token), CREATE, json!({"input": input}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createBitbucketConnection"].clone()
}

fn first_error(payload: &Value) -> (String, Option<String>, String) {
    assert!(payload["connection"].is_null(), "{payload}");
    let e = &payload["userErrors"][0];
    (
        e["code"].as_str().unwrap().to_owned(),
        e["field"].as_str().map(str::to_owned),
        e["message"].as_str().unwrap().to_owned(),
    )
}

async fn create_bitbucket_connection_accepts_a_workspace_access_token(backend: Backend) {
    let server = healthy_bitbucket(&format!("Bearer {BITBUCKET_TOKEN}")).await;
    let app = app_for(backend, &server).await;
    let payload = create(
        &app,
        json!({"workspaceId": "Ghost", "token": BITBUCKET_TOKEN}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert_eq!(payload["connection"]["provider"], "BITBUCKET");
    assert_eq!(payload["connection"]["workspaceId"], "ghost");
    assert_eq!(payload["connection"]["name"], "ghost");
    assert_eq!(payload["connection"]["tokenHint"], "…b2c3");
}

async fn create_bitbucket_connection_accepts_an_api_token_with_its_email(backend: Backend) {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("dev@example.com:{BITBUCKET_TOKEN}"));
    let server = healthy_bitbucket(&format!("Basic {basic}")).await;
    let app = app_for(backend, &server).await;
    let payload = create(
        &app,
        json!({"workspaceId": "ghost", "token": BITBUCKET_TOKEN, "email": "dev@example.com"}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
}

async fn create_bitbucket_connection_rejects_a_bad_token(backend: Backend) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(bitbucket_error(
            401,
            "Token is invalid, expired, or not supported for this endpoint.",
            json!(null),
        ))
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, field, _) = first_error(
        &create(
            &app,
            json!({"workspaceId": "ghost", "token": BITBUCKET_TOKEN}),
        )
        .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_TOKEN", Some("token"))
    );
}

async fn create_bitbucket_connection_names_a_missing_project_scope(backend: Backend) {
    let server = healthy_bitbucket(&format!("Bearer {BITBUCKET_TOKEN}")).await;
    Mock::given(method("GET"))
        .and(path("/2.0/workspaces/ghost/projects"))
        .respond_with(bitbucket_error(
            403,
            "Your credentials lack one or more required privilege scopes.",
            json!({"granted": ["repository"], "required": ["project"]}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, field, message) = first_error(
        &create(
            &app,
            json!({"workspaceId": "ghost", "token": BITBUCKET_TOKEN}),
        )
        .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INSUFFICIENT_SCOPE", Some("token"))
    );
    assert!(message.contains("project"), "{message}");
}

async fn create_bitbucket_connection_reports_an_unknown_workspace(backend: Backend) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/nobody"))
        .respond_with(bitbucket_error(
            404,
            "No workspace with identifier 'nobody'.",
            json!(null),
        ))
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, field, _) = first_error(
        &create(
            &app,
            json!({"workspaceId": "nobody", "token": BITBUCKET_TOKEN}),
        )
        .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("SCOPE_NOT_FOUND", Some("workspaceId"))
    );
}

async fn create_bitbucket_connection_rejects_malformed_input_without_a_request(backend: Backend) {
    let server = healthy_bitbucket(&format!("Bearer {BITBUCKET_TOKEN}")).await;
    let app = app_for(backend, &server).await;
    let (code, field, _) = first_error(
        &create(
            &app,
            json!({"workspaceId": "ghost/repo", "token": BITBUCKET_TOKEN}),
        )
        .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_INPUT", Some("workspaceId"))
    );
    let (code, field, _) = first_error(
        &create(
            &app,
            json!({"workspaceId": "ghost", "token": BITBUCKET_TOKEN, "email": "not-an-email"}),
        )
        .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_INPUT", Some("email"))
    );
    assert_eq!(request_count(&server).await, 0);
}

async fn update_connection_credential_switches_bitbucket_from_api_token_to_access_token(
    backend: Backend,
) {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("dev@example.com:{BITBUCKET_TOKEN}"));
    let server = healthy_bitbucket(&format!("Basic {basic}")).await;
    let new_token = "ATCTT3xFfGN0-RotatedAccessToken7e8f";
    accept_bitbucket_auth(&server, &format!("Bearer {new_token}")).await;
    let app = app_for(backend, &server).await;
    let owner = app.owner().await;
    let created = app
        .graphql(Some(&owner.token), CREATE, json!({"input": {"workspaceId": "ghost", "token": BITBUCKET_TOKEN, "email": "dev@example.com"}}))
        .await;
    let id = created["data"]["createBitbucketConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = "mutation($input: UpdateConnectionCredentialInput!) { updateConnectionCredential(input: $input) {
        connection { tokenHint } userErrors { field code message } } }";
    // Keeping the email would send the new access token as Basic, which Bitbucket refuses.
    let kept = app
        .graphql(
            Some(&owner.token),
            update,
            json!({"input": {"id": id, "token": new_token}}),
        )
        .await;
    assert_eq!(
        kept["data"]["updateConnectionCredential"]["userErrors"][0]["code"],
        "INVALID_TOKEN"
    );
    let cleared = app
        .graphql(
            Some(&owner.token),
            update,
            json!({"input": {"id": id, "token": new_token, "email": ""}}),
        )
        .await;
    assert_eq!(
        cleared["data"]["updateConnectionCredential"]["userErrors"],
        json!([]),
        "{cleared}"
    );
    assert_eq!(
        cleared["data"]["updateConnectionCredential"]["connection"]["tokenHint"],
        "…7e8f"
    );
}

on_both_backends!(
    update_connection_credential_switches_bitbucket_from_api_token_to_access_token,
    create_bitbucket_connection_accepts_a_workspace_access_token,
    create_bitbucket_connection_accepts_an_api_token_with_its_email,
    create_bitbucket_connection_rejects_a_bad_token,
    create_bitbucket_connection_names_a_missing_project_scope,
    create_bitbucket_connection_reports_an_unknown_workspace,
    create_bitbucket_connection_rejects_malformed_input_without_a_request,
);
