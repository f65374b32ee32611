//! Linking a GitHub account through the OAuth web flow: `/auth/github/link` (or `githubLinkUrl`)
//! sends the browser to GitHub with a signed, single-use state; `/auth/github/callback` trades
//! the code for the user's tokens, reads `/user` and links the account. A state that is
//! missing, forged, altered, expired, replayed or another user's links nothing.

use crate::helpers::{Account, Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use entities::{linked_account, oauth_state};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER_TOKEN: &str = "ghu_TetherLinkTestSecret16";
const REFRESH_TOKEN: &str = "ghr_TetherLinkTestRefresh16";

/// GitHub's token endpoint (for `code=good`) and `/user`.
async fn github() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("code=good"))
        .and(body_string_contains("client_secret=shh-client-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": USER_TOKEN, "expires_in": 28800,
            "refresh_token": REFRESH_TOKEN, "refresh_token_expires_in": 15897600,
            "token_type": "bearer", "scope": ""
        })))
        .mount(&server)
        .await;
    // Anything else is refused the way GitHub does: 200 with an error document.
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired."
        })))
        .with_priority(10)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header(
            "authorization",
            format!("Bearer {USER_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "login": "octocat", "id": 583231, "avatar_url": "https://avatars.example/u/583231",
            "type": "User"
        })))
        .mount(&server)
        .await;
    server
}

async fn app_for(backend: Backend, github: &MockServer) -> TestApp {
    let uri = github.uri();
    spawn_app_with(backend, move |raw| {
        raw.github_api_url = uri.clone();
        raw.github_web_url = uri;
        raw.github_client_id = Some("Iv1.testclient".into());
        raw.github_client_secret = Some("shh-client-secret".into());
        raw.public_url = Some("https://tether.example.com".into());
        raw.frontend_url = Some("https://app.example.com/settings".into());
    })
    .await
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> url::Url {
    let value = response.headers()["location"].to_str().unwrap();
    url::Url::parse(value).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts linking as `account`: the state GitHub would carry back.
async fn start(app: &TestApp, account: &Account) -> String {
    let response = browser()
        .get(format!("{}/auth/github/link", app.address))
        .bearer_auth(&account.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert_eq!(to.path(), "/login/oauth/authorize");
    assert_eq!(query(&to, "client_id").as_deref(), Some("Iv1.testclient"));
    assert_eq!(
        query(&to, "redirect_uri").as_deref(),
        Some("https://tether.example.com/auth/github/callback")
    );
    query(&to, "state").expect("a state")
}

/// GitHub sending the browser back.
async fn come_back(app: &TestApp, state: Option<&str>, bearer: Option<&str>) -> reqwest::Response {
    let mut url = url::Url::parse(&format!("{}/auth/github/callback", app.address)).unwrap();
    url.query_pairs_mut().append_pair("code", "good");
    if let Some(state) = state {
        url.query_pairs_mut().append_pair("state", state);
    }
    let mut request = browser().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn linked(app: &TestApp, account: &Account) -> Value {
    let body = app
        .graphql(
            Some(&account.token),
            "{ linkedAccounts { id provider login externalId avatarUrl } }",
            json!({}),
        )
        .await;
    body["data"]["linkedAccounts"].clone()
}

async fn a_user_links_their_github_account_through_the_oauth_web_flow(backend: Backend) {
    let github = github().await;
    let app = app_for(backend, &github).await;
    let owner = app.owner().await;
    let state = start(&app, &owner).await;

    let response = come_back(&app, Some(&state), None).await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        location(&response).as_str(),
        "https://app.example.com/settings?github=linked"
    );
    let accounts = linked(&app, &owner).await;
    assert_eq!(accounts[0]["login"], "octocat");
    assert_eq!(accounts[0]["externalId"], "583231");
    assert_eq!(accounts[0]["avatarUrl"], "https://avatars.example/u/583231");
    // Tokens are sealed: no column holds them in clear.
    let row = linked_account::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let stored = format!("{:?}{:?}", row.access_token, row.refresh_token);
    assert!(!stored.contains(USER_TOKEN) && !stored.contains(REFRESH_TOKEN));
    assert!(row.access_token_expires_at.is_some() && row.refresh_token.is_some());
    // The same URL through GraphQL, for single-page apps.
    let body = app
        .graphql(Some(&owner.token), "{ githubLinkUrl }", json!({}))
        .await;
    let url = url::Url::parse(body["data"]["githubLinkUrl"].as_str().unwrap()).unwrap();
    assert!(query(&url, "state").is_some_and(|s| s != state));
    assert!(!app.logs().contains(USER_TOKEN) && !app.logs().contains(REFRESH_TOKEN));
}

async fn a_refused_state_links_nothing(backend: Backend) {
    let github = github().await;
    let app = app_for(backend, &github).await;
    let owner = app.owner().await;
    let other = app.sign_up("mallory@example.com", "Other").await;

    // Missing, forged, altered.
    let good = start(&app, &owner).await;
    let (nonce, signature) = good.split_once('.').unwrap();
    // One character changed (to one it is not already).
    let last = if signature.ends_with('A') { 'B' } else { 'A' };
    let altered_signature = format!("{nonce}.{}{last}", &signature[..signature.len() - 1]);
    let forged = format!("{}.{signature}", uuid::Uuid::new_v4().simple());
    for state in [
        None,
        Some("nonsense"),
        Some(forged.as_str()),
        Some(altered_signature.as_str()),
    ] {
        let response = come_back(&app, state, None).await;
        assert_eq!(response.status(), 400, "{state:?}");
    }
    // Another user's browser.
    assert_eq!(
        come_back(&app, Some(&good), Some(&other.token))
            .await
            .status(),
        400
    );
    // Replayed: the attempt above spent it.
    assert_eq!(come_back(&app, Some(&good), None).await.status(), 400);
    // Expired.
    let late = start(&app, &owner).await;
    oauth_state::Entity::update_many()
        .col_expr(
            oauth_state::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(oauth_state::Column::ConsumedAt.is_null())
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(come_back(&app, Some(&late), None).await.status(), 400);
    assert_eq!(linked(&app, &owner).await, json!([]));
    assert_eq!(linked(&app, &other).await, json!([]));

    // A state used once more after success is refused too.
    let once = start(&app, &owner).await;
    assert_eq!(come_back(&app, Some(&once), None).await.status(), 302);
    assert_eq!(come_back(&app, Some(&once), None).await.status(), 400);
}

async fn an_unlinked_account_is_gone_with_its_tokens(backend: Backend) {
    let github = github().await;
    let app = app_for(backend, &github).await;
    let owner = app.owner().await;
    let state = start(&app, &owner).await;
    assert_eq!(come_back(&app, Some(&state), None).await.status(), 302);
    let id = linked(&app, &owner).await[0]["id"].clone();
    let body = app
        .graphql(
            Some(&owner.token),
            "mutation($id: ID!) { unlinkAccount(input: {id: $id}) { unlinkedAccountId userErrors { code } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(body["data"]["unlinkAccount"]["unlinkedAccountId"], id);
    assert_eq!(linked(&app, &owner).await, json!([]));
    let rows = linked_account::Entity::find()
        .filter(linked_account::Column::Login.eq("octocat"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(rows.is_empty());
}

async fn linking_says_when_github_is_not_configured(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let owner = app.owner().await;
    let response = browser()
        .get(format!("{}/auth/github/link", app.address))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("TETHER_GITHUB_CLIENT_ID"),
        "{body}"
    );
    let unauthenticated = browser()
        .get(format!("{}/auth/github/link", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let body = app
        .graphql(Some(&owner.token), "{ githubLinkUrl }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

on_both_backends!(
    a_user_links_their_github_account_through_the_oauth_web_flow,
    a_refused_state_links_nothing,
    an_unlinked_account_is_gone_with_its_tokens,
    linking_says_when_github_is_not_configured,
);
