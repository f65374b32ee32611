//! `createAzureDevOpsConnection`: the three organization URL forms, a PAT sent as Basic with an
//! empty user, and the sign-in page Azure answers a bad PAT with.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CREATE: &str = "mutation($input: CreateAzureDevOpsConnectionInput!) {
  createAzureDevOpsConnection(input: $input) {
    connection { id provider name status organizationUrl tokenHint }
    userErrors { field code message } } }";

async fn app_for(backend: Backend, server: &MockServer) -> TestApp {
    let uri = server.uri();
    spawn_app_with(backend, move |raw| raw.azure_devops_url = Some(uri)).await
}

async fn create(app: &TestApp, url: &str) -> Value {
    let owner = app.owner().await;
    let body = app
        .graphql(
            Some(&owner.token),
            CREATE,
            json!({"input": {"organizationUrl": url, "token": AZURE_PAT}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createAzureDevOpsConnection"].clone()
}

/// The `api-version` of every request that carried one.
async fn api_versions(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    let versions: Vec<String> = requests
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(!versions.is_empty());
    versions
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

async fn create_azure_devops_connection_accepts_both_cloud_url_forms(backend: Backend) {
    let server = healthy_azure().await;
    let app = app_for(backend, &server).await;
    let payload = create(&app, "https://dev.azure.com/ghost/").await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert!(
        api_versions(&server).await.iter().all(|v| v == "7.1"),
        "the cloud gets api-version 7.1"
    );
    assert_eq!(payload["connection"]["provider"], "AZURE_DEVOPS");
    assert_eq!(
        payload["connection"]["organizationUrl"],
        "https://dev.azure.com/ghost"
    );
    assert_eq!(payload["connection"]["tokenHint"], "…e5f6");

    let other = app_for(backend, &server).await;
    let payload = create(&other, "https://ghost.visualstudio.com").await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
}

async fn create_azure_devops_connection_treats_the_sign_in_page_as_a_bad_token(backend: Backend) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ghost/_apis/connectionData"))
        .respond_with(
            ResponseTemplate::new(203)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string("<html><body>Sign in to your account</body></html>"),
        )
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, field, _) = first_error(&create(&app, "https://dev.azure.com/ghost").await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_TOKEN", Some("token"))
    );
}

async fn create_azure_devops_connection_rejects_an_expired_pat(backend: Backend) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string("The Personal Access Token used has expired."),
        )
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, _, _) = first_error(&create(&app, "https://dev.azure.com/ghost").await);
    assert_eq!(code, "TOKEN_EXPIRED");
}

async fn create_azure_devops_connection_names_missing_scopes(backend: Backend) {
    for (endpoint, scope) in [
        ("/ghost/_apis/projects", "vso.project"),
        ("/ghost/_apis/git/repositories", "vso.code"),
    ] {
        let server = healthy_azure().await;
        Mock::given(method("GET"))
            .and(path(endpoint))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "message": "TF400813: The user is not authorized to access this resource."})))
            .with_priority(1)
            .mount(&server)
            .await;
        let app = app_for(backend, &server).await;
        let (code, field, message) =
            first_error(&create(&app, "https://dev.azure.com/ghost").await);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("INSUFFICIENT_SCOPE", Some("token"))
        );
        assert!(message.contains(scope), "{message}");
    }
}

async fn create_azure_devops_connection_reports_an_unknown_organization(backend: Backend) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "not found"})))
        .mount(&server)
        .await;
    let app = app_for(backend, &server).await;
    let (code, field, _) = first_error(&create(&app, "https://dev.azure.com/ghost").await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("SCOPE_NOT_FOUND", Some("organizationUrl"))
    );
}

async fn create_azure_devops_connection_validates_the_url_form(backend: Backend) {
    let server = healthy_azure().await;
    let app = app_for(backend, &server).await;
    for url in [
        "dev.azure.com/ghost",
        "https://dev.azure.com/",
        "https://dev.azure.com/ghost/project",
        "https://tfs.example.com/",
    ] {
        let (code, field, _) = first_error(&create(&app, url).await);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("INVALID_INPUT", Some("organizationUrl")),
            "{url}"
        );
    }
    assert_eq!(request_count(&server).await, 0);
}

async fn azure_devops_server_urls_are_ssrf_guarded(backend: Backend) {
    let server = healthy_azure().await;
    let app = spawn_app_with(backend, |_| {}).await;
    let loopback = format!(
        "{}/ghost",
        server
            .uri()
            .replace("http://127.0.0.1", "https://localhost")
    );
    let (code, field, message) = first_error(&create(&app, &loopback).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("INVALID_INPUT", Some("organizationUrl"))
    );
    assert!(message.contains("loopback"), "{message}");
    assert_eq!(request_count(&server).await, 0);

    // An operator who allows private networks can reach an on-prem collection.
    let app = spawn_app_with(backend, |raw| raw.allow_private_networks = true).await;
    let payload = create(&app, &format!("{}/ghost", server.uri())).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    assert!(
        api_versions(&server).await.iter().all(|v| v == "5.0"),
        "Azure DevOps Server gets api-version 5.0"
    );
}

on_both_backends!(
    create_azure_devops_connection_accepts_both_cloud_url_forms,
    create_azure_devops_connection_treats_the_sign_in_page_as_a_bad_token,
    create_azure_devops_connection_rejects_an_expired_pat,
    create_azure_devops_connection_names_missing_scopes,
    create_azure_devops_connection_reports_an_unknown_organization,
    create_azure_devops_connection_validates_the_url_form,
    azure_devops_server_urls_are_ssrf_guarded,
);
