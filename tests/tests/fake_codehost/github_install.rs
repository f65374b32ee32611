//! The GitHub App's install flow: owners install, members request, owners approve; and the
//! installations a user can see.

use crate::receiver::Receiver;
use crate::{
    admin, github_installation_token, install, link, param, register_app, start, user_token,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::fake::FakeCodeHost;

async fn sign_in(host: &FakeCodeHost, login: &str, id: u64) {
    let (status, _) = admin(host, "session", json!({"login": login, "id": id})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn visible_installations(host: &FakeCodeHost, token: &str) -> Vec<String> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/user/installations?per_page=100", host.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["account"]["login"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_owner_installs_at_once_and_a_member_only_requests_until_an_owner_approves() {
    let host = start(3).await;
    let tether = Receiver::start().await;
    register_app(&host, &tether.url).await;
    let (status, _) = admin(
        &host,
        "orgs",
        json!({"login": "acme", "id": 4242, "owners": ["alice"], "members": ["mona"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // octocat owns ghost, the default target: installed, and GitHub says so by webhook.
    let (setup, params) = install(&host, &[("state", "first")]).await;
    assert_eq!(setup, format!("{}/github/setup", tether.url));
    assert_eq!(param(&params, "setup_action"), Some("install"));
    assert_eq!(param(&params, "state"), Some("first"));
    let ghost: u64 = param(&params, "installation_id").unwrap().parse().unwrap();
    let created = tether.of("installation");
    assert_eq!(created.len(), 1);
    let delivery = &created[0];
    assert!(delivery.signed_with("test-webhook-secret"));
    assert!(!delivery.signed_with("another-secret"));
    assert_eq!(
        delivery.header("x-github-hook-installation-target-type"),
        "integration"
    );
    assert_eq!(delivery.header("x-github-hook-installation-target-id"), "1");
    assert_eq!(delivery.header("content-type"), "application/json");
    assert!(
        delivery
            .header("user-agent")
            .starts_with("GitHub-Hookshot/")
    );
    assert_eq!(delivery.header("x-github-delivery").len(), 36);
    let payload = delivery.json();
    assert_eq!(payload["action"], "created");
    assert_eq!(payload["installation"]["id"], ghost);
    assert_eq!(payload["installation"]["account"]["login"], "ghost");
    assert_eq!(payload["requester"], Value::Null);
    assert_eq!(payload["sender"]["login"], "octocat");
    assert_eq!(payload["repositories"].as_array().unwrap().len(), 3);
    assert!(
        payload["repositories"][0]["full_name"]
            .as_str()
            .unwrap()
            .starts_with("ghost/")
    );

    // Installing again where it is installed goes to the settings.
    let (_, again) = install(&host, &[("state", "second")]).await;
    assert_eq!(param(&again, "setup_action"), Some("update"));
    assert_eq!(
        param(&again, "installation_id"),
        Some(ghost.to_string().as_str())
    );

    // mona is only a member of acme: a request, no installation id, no webhook.
    sign_in(&host, "mona", 777).await;
    let (_, requested) = install(&host, &[("state", "third"), ("target_id", "4242")]).await;
    assert_eq!(param(&requested, "setup_action"), Some("request"));
    assert_eq!(param(&requested, "installation_id"), None);
    assert_eq!(param(&requested, "state"), Some("third"));
    assert_eq!(tether.of("installation").len(), 1);
    let (mona_token, _) = user_token(&host).await;
    assert!(
        !visible_installations(&host, &mona_token)
            .await
            .contains(&"acme".to_owned())
    );

    let (status, approved) = admin(&host, "requests/approve", json!({"account": "acme"})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["deliveries"][0]["status"], 202);
    let acme = approved["installation"]["id"].as_u64().unwrap();
    let created = tether.of("installation");
    assert_eq!(created.len(), 2);
    let payload = created[1].json();
    assert!(created[1].signed_with("test-webhook-secret"));
    assert_eq!(
        (
            &payload["action"],
            &payload["installation"]["id"],
            &payload["installation"]["account"]["login"]
        ),
        (&json!("created"), &json!(acme), &json!("acme"))
    );
    assert_eq!(
        (&payload["requester"]["login"], &payload["requester"]["id"]),
        (&json!("mona"), &json!(777))
    );
    assert_eq!(
        approved["deliveries"][0]["delivery_id"].as_str().unwrap(),
        created[1].header("x-github-delivery")
    );

    // Each user sees the installations of accounts they belong to.
    let mona_sees = visible_installations(&host, &mona_token).await;
    assert!(mona_sees.contains(&"acme".to_owned()) && !mona_sees.contains(&"ghost".to_owned()));
    sign_in(&host, "octocat", 583231).await;
    let (octocat_token, _) = user_token(&host).await;
    let octocat_sees = visible_installations(&host, &octocat_token).await;
    assert!(
        octocat_sees.contains(&"ghost".to_owned()) && !octocat_sees.contains(&"acme".to_owned())
    );
    assert_eq!(host.stats().by_endpoint["github.install"], 3);

    // The new installation's token lists the account's repositories under its login.
    let token = github_installation_token(&host.url(), acme).await;
    let repos: Value = reqwest::Client::new()
        .get(format!("{}/installation/repositories", host.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(repos["total_count"], 3);
    assert_eq!(repos["repositories"][0]["owner"]["login"], "acme");
}

#[tokio::test]
async fn user_installations_are_paginated_with_link() {
    let host = start(1).await;
    register_app(&host, "http://tether.test").await;
    for id in [11, 12, 13] {
        github_installation_token(&host.url(), id).await;
    }
    let (token, _) = user_token(&host).await;
    let response = reqwest::Client::new()
        .get(format!("{}/user/installations?per_page=2", host.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let next = link(response.headers(), "next").unwrap();
    assert!(link(response.headers(), "last").unwrap().contains("page=2"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total_count"], 4, "installations 1, 11, 12, 13");
    assert_eq!(body["installations"].as_array().unwrap().len(), 2);
    let second: Value = reqwest::Client::new()
        .get(next)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["installations"].as_array().unwrap().len(), 2);

    host.reject_unknown_github_user_tokens(true);
    let seeded = reqwest::Client::new()
        .get(format!("{}/user/installations", host.url()))
        .bearer_auth("ghu_seeded_by_a_suite")
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), StatusCode::UNAUTHORIZED);
}
