//! Changes through the admin API and the handle: renames, removals, transfers and pushes
//! never change an id, and branch ETags hold until a push.

use crate::{azure, gitlab, header, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::fake::{Provider, Target};

#[tokio::test]
async fn a_rename_through_the_admin_api_keeps_the_id() {
    let host = start(3).await;
    let url = format!(
        "{}/api/v4/groups/ghost%2Fg/projects?per_page=100",
        host.url()
    );
    let before: Vec<Value> = gitlab(&url, "t").await.json().await.unwrap();
    let renamed: Value = reqwest::Client::new()
        .post(format!("{}/_fake/mutate", host.url()))
        .json(&json!({"provider": "gitlab", "scope": "ghost/g", "op": "rename", "index": 1, "name": "renamed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["id"], before[1]["id"]);
    let after: Vec<Value> = gitlab(&url, "t").await.json().await.unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(after[1]["id"], before[1]["id"]);
    assert_eq!(after[1]["name"], "renamed");
    assert_eq!(after[1]["path_with_namespace"], "ghost/g/renamed");
}

#[tokio::test]
async fn removals_additions_and_transfers_change_the_listings_but_never_an_id() {
    let host = start(5).await;
    let first = host.repos(Provider::Bitbucket, "a");
    host.remove(Provider::Bitbucket, "a", Target::Index(0))
        .unwrap();
    let added = host.add(Provider::Bitbucket, "a", Some("fresh"));
    let moved = host
        .transfer(Provider::Bitbucket, "a", Target::Uuid(first[1].uuid), "b")
        .unwrap();
    assert_eq!((moved.uuid, moved.scope.as_str()), (first[1].uuid, "b"));

    let list = |ws: &'static str| {
        let url = format!("{}/2.0/repositories/{ws}?pagelen=100", host.url());
        async move {
            let page: Value = reqwest::Client::new()
                .get(url)
                .bearer_auth("t")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["uuid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let a = list("a").await;
    let b = list("b").await;
    assert_eq!(a.len(), 4, "5 - removed - transferred + added");
    assert!(!a.contains(&format!("{{{}}}", first[0].uuid)));
    assert!(a.contains(&format!("{{{}}}", added.uuid)));
    assert_eq!(b.len(), 6);
    assert!(b.contains(&format!("{{{}}}", first[1].uuid)));
}

#[tokio::test]
async fn ids_are_the_same_in_two_runs() {
    let one = start(4).await;
    let two = start(4).await;
    assert_eq!(
        one.repos(Provider::Github, "7"),
        two.repos(Provider::Github, "7")
    );
    assert_ne!(
        one.repos(Provider::Github, "7")[0].id,
        one.repos(Provider::Github, "8")[0].id
    );
}

#[tokio::test]
async fn branch_etags_answer_304_until_a_push() {
    let host = start(2).await;
    let project = host.repos(Provider::Gitlab, "g")[0].id;
    let url = format!(
        "{}/api/v4/projects/{project}/repository/branches/main",
        host.url()
    );
    let first = gitlab(&url, "t").await;
    let etag = header(first.headers(), "etag").to_owned();
    let branch: Value = first.json().await.unwrap();
    assert_eq!(branch["default"], true);
    let sha = branch["commit"]["id"].as_str().unwrap().to_owned();

    let conditional = |etag: String| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .header("PRIVATE-TOKEN", "t")
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap()
        }
    };
    let unchanged = conditional(etag.clone()).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert!(unchanged.bytes().await.unwrap().is_empty());

    host.push(Provider::Gitlab, "g", Target::Id(project))
        .unwrap();
    let changed = conditional(etag.clone()).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(header(changed.headers(), "etag"), etag);
    let branch: Value = changed.json().await.unwrap();
    assert_ne!(branch["commit"]["id"].as_str().unwrap(), sha);

    let repo = &host.repos(Provider::Azure, "org")[0];
    let refs = format!(
        "{}/org/project-00/_apis/git/repositories/{}/refs?filter=heads/main&api-version=7.1",
        host.url(),
        repo.uuid
    );
    let response = azure(&refs, "pat").await;
    let etag = header(response.headers(), "etag").to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"][0]["objectId"], repo.head.as_str());
    let again = reqwest::Client::new()
        .get(&refs)
        .basic_auth("", Some("pat"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_admin_api_resizes_a_scope_and_pushes_by_uuid() {
    let host = start(3).await;
    let client = reqwest::Client::new();
    let resized = client
        .post(format!("{}/_fake/scopes", host.url()))
        .json(&json!({"provider": "gitlab", "scope": "ghost/big", "repos": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(resized.status(), StatusCode::OK);
    let url = format!(
        "{}/api/v4/groups/ghost%2Fbig/projects?per_page=5",
        host.url()
    );
    let response = gitlab(&url, "t").await;
    assert_eq!(header(response.headers(), "x-total"), "7");
    assert_eq!(header(response.headers(), "x-next-page"), "2");

    let repo = host.repos(Provider::Azure, "org")[2].clone();
    let pushed: Value = client
        .post(format!("{}/_fake/mutate", host.url()))
        .json(&json!({"provider": "azure", "scope": "org", "op": "push", "id": format!("{{{}}}", repo.uuid)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["id"], repo.id);
    assert_ne!(pushed["head"], repo.head.as_str());
    let missing = client
        .post(format!("{}/_fake/mutate", host.url()))
        .json(&json!({"provider": "azure", "scope": "org", "op": "remove", "index": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
