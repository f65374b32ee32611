//! The fake code host over real HTTP: each provider's listing, pagination headers, changes,
//! faults, ETags, revoked tokens and the admin API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tests::fake::{FakeCodeHost, FakeConfig, Fault, Provider, Target};

async fn start(repos: usize) -> FakeCodeHost {
    FakeCodeHost::start(FakeConfig {
        repos_per_scope: repos,
        latency: Duration::ZERO,
        listen: None,
    })
    .await
    .unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

/// The URL of `rel` in an RFC 8288 `Link` header.
fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(", ").find_map(|part| {
        let (url, params) = part.split_once(';')?;
        (params.trim() == format!("rel=\"{rel}\""))
            .then(|| url.trim_matches(|c| c == '<' || c == '>').to_owned())
    })
}

async fn gitlab(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("PRIVATE-TOKEN", token)
        .send()
        .await
        .unwrap()
}

async fn azure(url: &str, pat: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .basic_auth("", Some(pat))
        .send()
        .await
        .unwrap()
}

async fn github_installation_token(base: &str, installation: u64) -> String {
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/app/installations/{installation}/access_tokens"
        ))
        .bearer_auth("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_gitlab_group_lists_exactly_its_projects_with_pagination_headers() {
    let host = start(250).await;
    let mut next = Some(format!(
        "{}/api/v4/groups/ghost%2Fmygroup/projects?include_subgroups=true&order_by=id&sort=asc\
         &statistics=true&with_shared=false&per_page=100&page=1",
        host.url()
    ));
    let mut ids = HashSet::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let response = gitlab(&url, "glpat-any").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        pages += 1;
        assert_eq!(header(&headers, "x-total"), "250");
        assert_eq!(header(&headers, "x-total-pages"), "3");
        assert_eq!(header(&headers, "x-per-page"), "100");
        assert_eq!(header(&headers, "x-page"), pages.to_string());
        assert_eq!(header(&headers, "ratelimit-limit"), "2000");
        assert!(
            header(&headers, "ratelimit-remaining")
                .parse::<u64>()
                .unwrap()
                > 0
        );
        assert!(link(&headers, "first").is_some() && link(&headers, "last").is_some());
        let projects: Vec<Value> = response.json().await.unwrap();
        for p in &projects {
            assert!(ids.insert(p["id"].as_u64().unwrap()));
            assert!(
                p["path_with_namespace"]
                    .as_str()
                    .unwrap()
                    .starts_with("ghost/mygroup/")
            );
            assert_eq!(p["default_branch"], "main");
            assert!(p["statistics"]["repository_size"].as_u64().unwrap() > 0);
        }
        match header(&headers, "x-next-page") {
            "" => assert!(link(&headers, "next").is_none()),
            n => {
                assert_eq!(n, (pages + 1).to_string());
                next = link(&headers, "next");
            }
        }
    }
    assert_eq!((pages, ids.len()), (3, 250));
}

#[tokio::test]
async fn gitlab_token_group_and_membership_checks_answer_like_gitlab() {
    let host = start(1).await;
    let base = format!("{}/api/v4", host.url());
    let me: Value = gitlab(&format!("{base}/personal_access_tokens/self"), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scopes"], json!(["read_api", "read_repository"]));
    assert_eq!(
        (me["active"].clone(), me["user_id"].clone()),
        (json!(true), json!(1))
    );
    let group: Value = gitlab(&format!("{base}/groups/ghost%2Fmygroup"), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["full_path"], "ghost/mygroup");
    let member: Value = gitlab(&format!("{base}/groups/{}/members/all/1", group["id"]), "t")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(member["access_level"], 30);
}

#[tokio::test]
async fn a_bitbucket_workspace_lists_exactly_its_repositories_following_next() {
    let host = start(250).await;
    let mut next = Some(format!("{}/2.0/repositories/ghost?pagelen=100", host.url()));
    let mut uuids = HashSet::new();
    while let Some(url) = next.take() {
        let response = reqwest::Client::new()
            .get(&url)
            .basic_auth("me@example.com", Some("ATATT-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(response.headers(), "x-ratelimit-limit"), "10000");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["size"], 250);
        assert_eq!(page["pagelen"], 100);
        for repo in page["values"].as_array().unwrap() {
            assert!(uuids.insert(repo["uuid"].as_str().unwrap().to_owned()));
            assert_eq!(repo["type"], "repository");
            assert!(repo["full_name"].as_str().unwrap().starts_with("ghost/"));
            assert_eq!(repo["mainbranch"]["name"], "main");
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(uuids.len(), 250);
}

#[tokio::test]
async fn an_azure_organization_lists_its_repositories_project_by_project() {
    let host = start(120).await;
    let base = format!("{}/ghost", host.url());
    let mut projects = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let mut url = format!("{base}/_apis/projects?api-version=7.1&$top=2");
        if let Some(token) = &continuation {
            url.push_str(&format!("&continuationToken={token}"));
        }
        let response = azure(&url, "pat").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("x-ratelimit-remaining"));
        continuation = response
            .headers()
            .get("x-ms-continuationtoken")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        projects.extend(page["value"].as_array().unwrap().iter().cloned());
        if continuation.is_none() {
            break;
        }
    }
    assert_eq!(projects.len(), 3, "120 repositories at 50 per project");
    let mut ids = HashSet::new();
    for project in &projects {
        assert_eq!(project["state"], "wellFormed");
        let url = format!(
            "{base}/{}/_apis/git/repositories?api-version=7.1",
            project["id"].as_str().unwrap()
        );
        let list: Value = azure(&url, "pat").await.json().await.unwrap();
        for repo in list["value"].as_array().unwrap() {
            assert_eq!(repo["project"]["id"], project["id"]);
            assert_eq!(repo["defaultBranch"], "refs/heads/main");
            assert!(ids.insert(repo["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(ids.len(), 120);
    let all: Value = azure(
        &format!("{base}/_apis/git/repositories?api-version=7.1"),
        "pat",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all["count"], 120);
}

#[tokio::test]
async fn a_github_installation_lists_exactly_its_repositories_following_link() {
    let host = start(250).await;
    let token = github_installation_token(&host.url(), 42).await;
    let client = reqwest::Client::new();
    let mut next = Some(format!(
        "{}/installation/repositories?per_page=100",
        host.url()
    ));
    let mut ids = HashSet::new();
    while let Some(url) = next.take() {
        let response = client
            .get(&url)
            .header("authorization", format!("token {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "x-ratelimit-limit"), "15000");
        next = link(&headers, "next");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["total_count"], 250);
        for repo in page["repositories"].as_array().unwrap() {
            assert!(ids.insert(repo["id"].as_u64().unwrap()));
            assert_eq!(repo["owner"]["login"], "org-42");
        }
    }
    assert_eq!(ids.len(), 250);

    let installations: Value = client
        .get(format!("{}/user/installations?per_page=100", host.url()))
        .bearer_auth("ghu_user")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<u64> = installations["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![1, 42]);
}

#[tokio::test]
async fn an_installation_token_that_was_never_minted_is_refused() {
    let host = start(1).await;
    let response = reqwest::Client::new()
        .get(format!("{}/installation/repositories", host.url()))
        .bearer_auth("ghs_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = reqwest::Client::new()
        .post(format!("{}/app/installations/1/access_tokens", host.url()))
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

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
async fn an_injected_429_answers_retry_after_and_exhausted_headers_then_recovers() {
    let host = start(10).await;
    let injected = reqwest::Client::new()
        .post(format!("{}/_fake/faults", host.url()))
        .json(&json!({"path_contains": "/projects", "status": 429, "count": 1, "retry_after": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), StatusCode::OK);
    let url = format!("{}/api/v4/groups/g/projects?per_page=100", host.url());
    let limited = gitlab(&url, "t").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(limited.headers(), "retry-after"), "9");
    assert_eq!(header(limited.headers(), "ratelimit-remaining"), "0");
    assert_eq!(gitlab(&url, "t").await.status(), StatusCode::OK);

    host.inject_fault(Fault {
        path_contains: "/installation/repositories".into(),
        status: 503,
        count: 2,
        retry_after: None,
    });
    let token = github_installation_token(&host.url(), 1).await;
    let url = format!("{}/installation/repositories", host.url());
    let client = reqwest::Client::new();
    for expected in [503, 503, 200] {
        let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected);
    }
    let stats: Value = reqwest::get(format!("{}/_fake/stats", host.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults_served"], 3, "{stats}");
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
async fn revoked_tokens_get_each_providers_refusal() {
    let host = start(1).await;
    let revoke = |token: &'static str| {
        let url = format!("{}/_fake/revoke", host.url());
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(revoke("glpat-old").await.status(), StatusCode::OK);
    revoke("azure-pat").await;

    let response = gitlab(
        &format!("{}/api/v4/personal_access_tokens/self", host.url()),
        "glpat-old",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "401 Unauthorized");

    let response = azure(
        &format!("{}/org/_apis/connectionData", host.url()),
        "azure-pat",
    )
    .await;
    assert_eq!(response.status(), StatusCode::NON_AUTHORITATIVE_INFORMATION);
    assert!(header(response.headers(), "content-type").starts_with("text/html"));

    let token = github_installation_token(&host.url(), 1).await;
    host.revoke_token(&token);
    let response = reqwest::Client::new()
        .get(format!("{}/installation/repositories", host.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = reqwest::Client::new()
        .get(format!("{}/2.0/repositories/ws", host.url()))
        .bearer_auth("glpat-old")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
}

#[tokio::test]
async fn stats_count_requests_per_endpoint_and_latency_delays_each_answer() {
    let host = FakeCodeHost::start(FakeConfig {
        repos_per_scope: 1,
        latency: Duration::from_millis(100),
        listen: None,
    })
    .await
    .unwrap();
    let started = Instant::now();
    gitlab(&format!("{}/api/v4/groups/g/projects", host.url()), "t").await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    gitlab(&format!("{}/api/v4/groups/g", host.url()), "t").await;

    let stats: Value = reqwest::get(format!("{}/_fake/stats", host.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["by_endpoint"]["gitlab.projects"], 1);
    assert_eq!(stats["by_endpoint"]["gitlab.group"], 1);
    assert_eq!(stats["faults_served"], 0);
    reqwest::Client::new()
        .post(format!("{}/_fake/reset-stats", host.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(host.stats().requests, 0);
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
