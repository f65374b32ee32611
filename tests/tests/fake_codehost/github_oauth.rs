//! The GitHub App's OAuth web flow: codes, user tokens, refresh and `GET /user`.

use crate::{
    admin, authorize, browser, header, param, register_app, start, token_request, user_token,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::fake::FakeCodeHost;

async fn get_user(host: &FakeCodeHost, authorization: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/user", host.url()))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_oauth_dance_gives_a_token_that_reads_the_signed_in_user() {
    let host = start(1).await;
    register_app(&host, "http://tether.test").await;
    let unknown = browser()
        .get(format!(
            "{}/login/oauth/authorize?client_id=Iv1.other&redirect_uri=http://x/cb&state=s",
            host.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let code = authorize(&host, "http://tether.test/github/callback").await;
    let body = token_request(
        &host,
        &[
            ("client_id", "Iv1.test"),
            ("client_secret", "test-client-secret"),
            ("code", &code),
            ("redirect_uri", "http://tether.test/github/callback"),
        ],
    )
    .await;
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("ghu_"), "{body}");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("ghr_"));
    assert_eq!(
        (
            &body["expires_in"],
            &body["refresh_token_expires_in"],
            &body["token_type"],
            &body["scope"]
        ),
        (
            &json!(28800),
            &json!(15897600),
            &json!("bearer"),
            &json!("")
        )
    );

    for authorization in [format!("Bearer {token}"), format!("token {token}")] {
        let response = get_user(&host, &authorization).await;
        assert_eq!(response.status(), StatusCode::OK);
        let user: Value = response.json().await.unwrap();
        assert_eq!(
            (&user["login"], &user["id"], &user["type"]),
            (&json!("octocat"), &json!(583231), &json!("User"))
        );
        assert!(user["node_id"].is_string() && user["avatar_url"].is_string());
    }
    let refused = get_user(&host, "Bearer ghu_never_minted").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");

    let stats = host.stats();
    assert_eq!(stats.by_endpoint["github.authorize"], 2);
    assert_eq!(stats.by_endpoint["github.access_token_oauth"], 1);
    assert_eq!(stats.by_endpoint["github.user"], 3);
}

#[tokio::test]
async fn a_code_works_once_and_the_token_endpoint_refuses_like_github() {
    let host = start(1).await;
    register_app(&host, "http://tether.test").await;
    let redirect = "http://tether.test/github/callback";
    let code = authorize(&host, redirect).await;
    let exchange = |secret: &'static str, code: String, redirect: &'static str| {
        let host = &host;
        async move {
            token_request(
                host,
                &[
                    ("client_id", "Iv1.test"),
                    ("client_secret", secret),
                    ("code", &code),
                    ("redirect_uri", redirect),
                ],
            )
            .await
        }
    };
    let wrong_secret = exchange("nope", code.clone(), redirect).await;
    assert_eq!(wrong_secret["error"], "incorrect_client_credentials");
    let wrong_redirect = exchange("test-client-secret", code.clone(), "http://evil.test/").await;
    assert_eq!(wrong_redirect["error"], "redirect_uri_mismatch");
    let first = exchange("test-client-secret", code.clone(), redirect).await;
    assert!(first["access_token"].is_string(), "{first}");
    let again = exchange("test-client-secret", code.clone(), redirect).await;
    assert_eq!(
        again,
        json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
        })
    );

    // Ten minutes later a code is no good.
    let late = authorize(&host, redirect).await;
    host.advance_github_clock(601);
    let expired = exchange("test-client-secret", late, redirect).await;
    assert_eq!(expired["error"], "bad_verification_code");

    // Without `Accept: application/json` GitHub answers with a form; JSON bodies are read too.
    let code = authorize(&host, redirect).await;
    let response = reqwest::Client::new()
        .post(format!("{}/login/oauth/access_token", host.url()))
        .json(
            &json!({"client_id": "Iv1.test", "client_secret": "test-client-secret", "code": code}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        header(response.headers(), "content-type").starts_with("application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&response.bytes().await.unwrap())
        .into_owned()
        .collect();
    assert!(param(&form, "access_token").unwrap().starts_with("ghu_"));
    assert_eq!(param(&form, "token_type"), Some("bearer"));
}

#[tokio::test]
async fn a_refresh_rotates_both_tokens_and_an_expired_token_is_refused() {
    let host = start(1).await;
    register_app(&host, "http://tether.test").await;
    let (status, _) = admin(&host, "token-lifetime", json!({"seconds": 60})).await;
    assert_eq!(status, StatusCode::OK);
    let (access, refresh) = user_token(&host).await;
    assert_eq!(
        get_user(&host, &format!("Bearer {access}")).await.status(),
        StatusCode::OK
    );
    let (status, _) = admin(&host, "clock", json!({"advance_seconds": 61})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get_user(&host, &format!("Bearer {access}")).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let refresh_with = |token: String| {
        let host = &host;
        async move {
            token_request(
                host,
                &[
                    ("client_id", "Iv1.test"),
                    ("client_secret", "test-client-secret"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                ],
            )
            .await
        }
    };
    let renewed = refresh_with(refresh.clone()).await;
    let new_access = renewed["access_token"].as_str().unwrap();
    assert_ne!(new_access, access);
    assert_ne!(renewed["refresh_token"].as_str().unwrap(), refresh);
    assert_eq!(renewed["expires_in"], 60);
    assert_eq!(
        get_user(&host, &format!("Bearer {new_access}"))
            .await
            .status(),
        StatusCode::OK
    );
    let reused = refresh_with(refresh).await;
    assert_eq!(reused["error"], "bad_refresh_token");
}
