//! Provider API fakes (wiremock over loopback), shaped like the providers' documented responses.

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const GITLAB_TOKEN: &str = "glpat-TetherTestSecret9a1b";
pub const GITLAB_USER_ID: u64 = 4242;
pub const GITLAB_GROUP_ID: u64 = 77;
pub const BITBUCKET_TOKEN: &str = "ATCTT3xFfGN0-TetherTestSecretb2c3";
pub const AZURE_PAT: &str = "azpat5TetherTestSecretc3d4e5f6";
pub const GITHUB_USER_TOKEN: &str = "gho_TetherTestSecretd4e5";

/// GitLab's `GET /personal_access_tokens/self`.
pub async fn gitlab_token(
    server: &MockServer,
    scopes: &[&str],
    expires_at: Option<&str>,
    active: bool,
) {
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/self"))
        .and(header("PRIVATE-TOKEN", GITLAB_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 9, "name": "tether", "revoked": false, "created_at": "2026-01-01T00:00:00.000Z",
            "description": "", "scopes": scopes, "user_id": GITLAB_USER_ID,
            "last_used_at": null, "active": active, "expires_at": expires_at
        })))
        .mount(server)
        .await;
}

/// GitLab's `GET /groups/:id`.
pub async fn gitlab_group(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/ghost%2Fmygroup"))
        .and(header("PRIVATE-TOKEN", GITLAB_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": GITLAB_GROUP_ID, "name": "mygroup", "path": "mygroup", "full_name": "ghost / mygroup",
            "full_path": "ghost/mygroup", "web_url": "https://gitlab.com/groups/ghost/mygroup",
            "visibility": "private", "parent_id": 1
        })))
        .mount(server)
        .await;
}

/// GitLab's `GET /groups/:id/members/all/:user_id`.
pub async fn gitlab_member(server: &MockServer, access_level: u32) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v4/groups/{GITLAB_GROUP_ID}/members/all/{GITLAB_USER_ID}"
        )))
        .and(header("PRIVATE-TOKEN", GITLAB_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": GITLAB_USER_ID, "username": "tether-bot", "name": "Tether", "state": "active",
            "access_level": access_level, "membership_state": "active"
        })))
        .mount(server)
        .await;
}

/// A GitLab where the token, the group and the role are all right.
pub async fn healthy_gitlab() -> MockServer {
    let server = MockServer::start().await;
    gitlab_token(
        &server,
        &["read_api", "read_repository"],
        Some("2099-01-01"),
        true,
    )
    .await;
    gitlab_group(&server).await;
    gitlab_member(&server, 30).await;
    server
}

fn bitbucket_page(values: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"pagelen": 1, "page": 1, "size": 1, "values": values}))
}

/// Bitbucket answering the workspace `ghost` for `auth` (a full Authorization header value).
pub async fn healthy_bitbucket(auth: &str) -> MockServer {
    let server = MockServer::start().await;
    accept_bitbucket_auth(&server, auth).await;
    // Any other credential is refused, as Bitbucket does.
    Mock::given(method("GET"))
        .respond_with(bitbucket_error(
            401,
            "Token is invalid, expired, or not supported for this endpoint.",
            json!(null),
        ))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// Lets `auth` read the workspace `ghost` on `server` too.
pub async fn accept_bitbucket_auth(server: &MockServer, auth: &str) {
    Mock::given(method("GET"))
        .and(path("/2.0/repositories/ghost"))
        .and(query_param("pagelen", "1"))
        .and(header("Authorization", auth))
        .respond_with(bitbucket_page(
            json!([{"type": "repository", "uuid": "{1}", "full_name": "ghost/api"}]),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2.0/workspaces/ghost/projects"))
        .and(header("Authorization", auth))
        .respond_with(bitbucket_page(
            json!([{"type": "project", "key": "PRJ", "uuid": "{2}"}]),
        ))
        .mount(server)
        .await;
}

/// Bitbucket's error document.
pub fn bitbucket_error(status: u16, message: &str, detail: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"type": "error", "error": {"message": message, "detail": detail}}))
}

/// The Basic header Azure DevOps expects for a PAT (empty user name).
pub fn azure_basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(":{AZURE_PAT}"))
    )
}

/// Azure DevOps answering for organization `ghost` (requests arrive as `/ghost/_apis/...`).
pub async fn healthy_azure() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ghost/_apis/connectionData"))
        .and(header("Authorization", azure_basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "authenticatedUser": {"id": "2c2f8d4a-0000-0000-0000-000000000001", "providerDisplayName": "Tether"},
            "authorizedUser": {"id": "2c2f8d4a-0000-0000-0000-000000000001"},
            "instanceId": "5e1a2b3c-0000-0000-0000-000000000000"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ghost/_apis/projects"))
        .and(header("Authorization", azure_basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "value": [{"id": "p1", "name": "Platform", "state": "wellFormed", "visibility": "private"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ghost/_apis/git/repositories"))
        .and(header("Authorization", azure_basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "value": [{"id": "r1", "name": "api", "project": {"id": "p1", "name": "Platform"}}]
        })))
        .mount(&server)
        .await;
    server
}

/// How many requests a mock server received.
pub async fn request_count(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|r| r.len())
        .unwrap_or(0)
}

/// Settings for a GitHub App `app_id` (with a fresh throwaway key) whose API is at `api_url`.
pub fn github_app_at(
    api_url: String,
    app_id: &str,
) -> impl FnOnce(&mut api::config::RawSettings) + use<> {
    let (key, app_id) = (github_app_key(), app_id.to_owned());
    move |raw| {
        raw.github_api_url = api_url;
        raw.github_app_id = Some(app_id);
        raw.github_app_private_key = Some(key);
    }
}

/// A throwaway RSA key for a fake GitHub App (generated per run; never a real credential).
pub fn github_app_key() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl is installed (it generates the test GitHub App key)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}
