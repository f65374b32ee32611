//! The GitHub App's webhooks: installation changes, mis-signed and repeated deliveries, and
//! pushes through the admin API.

use crate::receiver::Receiver;
use crate::{admin, github_installation_token, install, param, register_app, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::fake::{FakeCodeHost, Provider};

async fn mint(host: &FakeCodeHost, installation: u64) -> StatusCode {
    reqwest::Client::new()
        .post(format!(
            "{}/app/installations/{installation}/access_tokens",
            host.url()
        ))
        .bearer_auth("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl")
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn suspending_changing_repositories_and_uninstalling_each_deliver_their_webhook() {
    let host = start(4).await;
    let tether = Receiver::start().await;
    register_app(&host, &tether.url).await;
    let (_, params) = install(&host, &[]).await;
    let id: u64 = param(&params, "installation_id").unwrap().parse().unwrap();
    let token = github_installation_token(&host.url(), id).await;
    let listing = |token: String| {
        let url = format!("{}/installation/repositories", host.url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };

    let (status, _) = admin(&host, &format!("installations/{id}/suspend"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mint(&host, id).await, StatusCode::FORBIDDEN);
    assert_eq!(listing(token.clone()).await.status(), StatusCode::FORBIDDEN);
    host.suspend_github(id, false).await.unwrap();
    assert_eq!(mint(&host, id).await, StatusCode::CREATED);
    let actions: Vec<Value> = tether
        .of("installation")
        .iter()
        .map(|d| d.json()["action"].clone())
        .collect();
    assert_eq!(
        actions,
        vec![json!("created"), json!("suspend"), json!("unsuspend")]
    );

    let (status, removed) = admin(
        &host,
        &format!("installations/{id}/repositories/remove"),
        json!({"names": ["repo-00001"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let body: Value = listing(token.clone()).await.json().await.unwrap();
    assert_eq!(
        (&body["total_count"], &body["repository_selection"]),
        (&json!(3), &json!("selected"))
    );
    let (_, added) = admin(
        &host,
        &format!("installations/{id}/repositories/add"),
        json!({"count": 2}),
    )
    .await;
    assert_eq!(added["deliveries"][0]["status"], 202, "{added}");
    let body: Value = listing(token.clone()).await.json().await.unwrap();
    assert_eq!(body["total_count"], 5, "the removed one back and one new");
    let changes = tether.of("installation_repositories");
    assert_eq!(changes.len(), 2);
    let removal = changes[0].json();
    assert_eq!(removal["action"], "removed");
    assert_eq!(removal["repository_selection"], "selected");
    assert_eq!(
        removal["repositories_removed"][0]["full_name"],
        "ghost/repo-00001"
    );
    assert!(removal["repositories_removed"][0]["node_id"].is_string());
    assert_eq!(
        changes[1].json()["repositories_added"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, uninstalled) =
        admin(&host, &format!("installations/{id}/uninstall"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let deleted = tether.of("installation").pop().unwrap();
    assert!(deleted.signed_with("test-webhook-secret"));
    assert_eq!(deleted.json()["action"], "deleted");
    assert_eq!(deleted.json()["installation"]["id"], id);
    assert_eq!(
        uninstalled["deliveries"][0]["delivery_id"]
            .as_str()
            .unwrap(),
        deleted.header("x-github-delivery")
    );
    assert_eq!(mint(&host, id).await, StatusCode::NOT_FOUND);
    assert_eq!(listing(token).await.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = admin(&host, &format!("installations/{id}/uninstall"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_test_can_send_mis_signed_webhooks_and_send_one_again_under_its_id() {
    let host = start(1).await;
    let tether = Receiver::start().await;
    register_app(&host, &tether.url).await;
    let payload = json!({"zen": "Keep it logically awesome.", "hook_id": 1});
    let mut ids = Vec::new();
    for signature in ["valid", "bad", "missing"] {
        let (status, delivery) = admin(
            &host,
            "webhooks/deliver",
            json!({"event": "ping", "payload": payload, "signature": signature}),
        )
        .await;
        assert_eq!(
            (status, &delivery["status"]),
            (StatusCode::OK, &json!(202)),
            "{delivery}"
        );
        ids.push(delivery["delivery_id"].as_str().unwrap().to_owned());
    }
    let got = tether.of("ping");
    assert_eq!(got.len(), 3);
    assert!(got[0].signed_with("test-webhook-secret"));
    assert!(got[1].headers.contains_key("x-hub-signature-256"));
    assert!(!got[1].signed_with("test-webhook-secret"));
    assert!(!got[2].headers.contains_key("x-hub-signature-256"));
    assert_eq!(got[0].body, serde_json::to_vec(&payload).unwrap());

    let (status, again) = admin(&host, "webhooks/deliver", json!({"delivery_id": ids[0]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["delivery_id"], ids[0].as_str());
    let got = tether.of("ping");
    assert_eq!(got[3].header("x-github-delivery"), ids[0]);
    assert_eq!(got[3].body, got[0].body);
    assert!(got[3].signed_with("test-webhook-secret"));
}

#[tokio::test]
async fn a_push_through_the_admin_api_reaches_the_installation_as_a_push_webhook() {
    let host = start(2).await;
    let tether = Receiver::start().await;
    register_app(&host, &tether.url).await;
    let (_, params) = install(&host, &[]).await;
    let id: u64 = param(&params, "installation_id").unwrap().parse().unwrap();
    let repo = host.repos(Provider::Github, "ghost")[1].clone();
    let pushed: Value = reqwest::Client::new()
        .post(format!("{}/_fake/mutate", host.url()))
        .json(&json!({"provider": "github", "scope": "ghost", "op": "push", "index": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["deliveries"][0]["status"], 202, "{pushed}");
    let push = tether.of("push").pop().unwrap().json();
    assert_eq!(push["ref"], "refs/heads/main");
    assert_eq!(push["before"], repo.head.as_str());
    assert_eq!(push["after"], pushed["head"]);
    assert_eq!(push["repository"]["id"], repo.id);
    assert_eq!(push["repository"]["default_branch"], "main");
    assert_eq!(
        push["repository"]["full_name"],
        format!("ghost/{}", repo.name)
    );
    assert_eq!(push["installation"]["id"], id);

    reqwest::Client::new()
        .post(format!("{}/_fake/mutate", host.url()))
        .json(&json!({"provider": "github", "scope": "ghost", "op": "rename", "index": 0, "name": "renamed"}))
        .send()
        .await
        .unwrap();
    let renamed = tether.of("repository").pop().unwrap().json();
    assert_eq!(renamed["action"], "renamed");
    assert_eq!(
        renamed["changes"]["repository"]["name"]["from"],
        "repo-00000"
    );
    assert_eq!(renamed["repository"]["name"], "renamed");
}
