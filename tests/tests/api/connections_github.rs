//! `createGitHubConnection`: needs a linked GitHub account; the installation must be visible to
//! it and grant contents and metadata read.

use crate::helpers::{Account, Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use crate::providers::{GITHUB_USER_TOKEN, github_app_at};
use chrono::Utc;
use entities::{Provider, SealContext, linked_account, user};
use sea_orm::{ActiveModelTrait, Set};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CREATE: &str = "mutation($input: CreateGitHubConnectionInput!) {
  createGitHubConnection(input: $input) {
    connection { id provider name status installationId tokenHint }
    userErrors { field code message } } }";

/// Links a GitHub account to `account` the way the OAuth callback will.
pub async fn link_github(app: &TestApp, account: &Account) {
    let user = user::Entity::find_by_email(&account.email)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let id = entities::new_id();
    let sealed = app
        .state
        .keyring
        .seal(
            &SecretString::from(GITHUB_USER_TOKEN),
            SealContext::new(linked_account::SEAL_TABLE, id, linked_account::SEAL_COLUMN),
        )
        .unwrap();
    linked_account::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        provider: Set(Provider::Github),
        external_id: Set("583231".into()),
        login: Set("octocat".into()),
        access_token: Set(Some(sealed)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn github_with(permissions: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/installations"))
        .and(header(
            "Authorization",
            format!("Bearer {GITHUB_USER_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1,
            "installations": [{"id": 123456, "app_id": 1, "target_type": "Organization",
                "account": {"login": "ghost-org", "id": 9, "type": "Organization"},
                "permissions": permissions, "repository_selection": "selected"}]
        })))
        .mount(&server)
        .await;
    server
}

async fn app_for(backend: Backend, server: &MockServer) -> TestApp {
    spawn_app_with(backend, github_app_at(server.uri(), "4242")).await
}

async fn create(app: &TestApp, account: &Account, installation: Value) -> Value {
    let body = app
        .graphql(
            Some(&account.token),
            CREATE,
            json!({"input": {"installationId": installation}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createGitHubConnection"].clone()
}

async fn create_github_connection_says_when_github_is_not_configured(backend: Backend) {
    let server = github_with(json!({"contents": "read", "metadata": "read"})).await;
    let uri = server.uri();
    let app = spawn_app_with(backend, move |raw| raw.github_api_url = uri).await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    let payload = create(&app, &owner, json!("123456")).await;
    assert_eq!(
        payload["userErrors"][0]["code"], "NOT_CONFIGURED",
        "{payload}"
    );
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("TETHER_GITHUB_APP_ID")
    );
    assert!(payload["connection"].is_null());
}

async fn create_github_connection_requires_a_linked_account(backend: Backend) {
    let server = github_with(json!({"contents": "read", "metadata": "read"})).await;
    let app = app_for(backend, &server).await;
    let owner = app.owner().await;
    let payload = create(&app, &owner, json!("123456")).await;
    assert!(payload["connection"].is_null());
    assert_eq!(payload["userErrors"][0]["code"], "ACCOUNT_NOT_LINKED");
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("link your GitHub account")
    );
    assert_eq!(crate::providers::request_count(&server).await, 0);
}

async fn create_github_connection_accepts_a_visible_installation(backend: Backend) {
    let server =
        github_with(json!({"contents": "read", "metadata": "read", "pull_requests": "write"}))
            .await;
    let app = app_for(backend, &server).await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    let payload = create(&app, &owner, json!(123456)).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert_eq!(payload["connection"]["provider"], "GITHUB");
    assert_eq!(payload["connection"]["installationId"], "123456");
    assert_eq!(payload["connection"]["name"], "ghost-org");
    assert_eq!(payload["connection"]["tokenHint"], Value::Null);
}

async fn create_github_connection_rejects_an_invisible_installation(backend: Backend) {
    let server = github_with(json!({"contents": "read", "metadata": "read"})).await;
    let app = app_for(backend, &server).await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    let payload = create(&app, &owner, json!("999")).await;
    assert_eq!(payload["userErrors"][0]["code"], "SCOPE_NOT_FOUND");
    assert_eq!(payload["userErrors"][0]["field"], "installationId");
}

async fn create_github_connection_requires_contents_read(backend: Backend) {
    let server = github_with(json!({"metadata": "read"})).await;
    let app = app_for(backend, &server).await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    let payload = create(&app, &owner, json!("123456")).await;
    assert_eq!(payload["userErrors"][0]["code"], "INSUFFICIENT_SCOPE");
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("contents:read")
    );
}

on_both_backends!(
    create_github_connection_says_when_github_is_not_configured,
    create_github_connection_requires_a_linked_account,
    create_github_connection_accepts_a_visible_installation,
    create_github_connection_rejects_an_invisible_installation,
    create_github_connection_requires_contents_read,
);
