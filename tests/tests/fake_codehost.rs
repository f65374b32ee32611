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

// ---- GitHub: the App's OAuth web flow, install flow and webhooks -------------------------

/// What a webhook receiver got: lowercase header names, and the exact body.
#[derive(Clone, Debug)]
struct Received {
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("delivery without {name}: {:?}", self.headers))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the body with `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        use hmac::{Hmac, Mac};
        let Some(header) = self.headers.get("x-hub-signature-256") else {
            return false;
        };
        let Some(hex) = header.strip_prefix("sha256=") else {
            return false;
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        mac.verify_slice(&bytes).is_ok()
    }
}

/// A stand-in for Tether's webhook endpoint: records every request and answers 202.
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        type Log = std::sync::Mutex<Vec<Received>>;
        async fn record(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            log.lock().unwrap().push(Received {
                headers,
                body: body.to_vec(),
            });
            HttpResponse::Accepted().finish()
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = std::sync::Arc::new(Log::default());
        let data = web::Data::from(got.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url, got, handle }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Deliveries of `event` received so far.
    fn of(&self, event: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.headers.get("x-github-event").map(String::as_str) == Some(event))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// A browser that does not follow redirects, so a test can read each `Location`.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The query parameters of a redirect's `Location`.
fn location(response: &reqwest::Response) -> (String, Vec<(String, String)>) {
    assert_eq!(response.status(), StatusCode::FOUND, "not a redirect");
    let url = url::Url::parse(header(response.headers(), "location")).unwrap();
    let params = url.query_pairs().into_owned().collect();
    (
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        params,
    )
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn admin(host: &FakeCodeHost, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_fake/github/{path}", host.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Registers the App pointed at `receiver` as Tether (setup and webhook URLs).
async fn register_app(host: &FakeCodeHost, tether: &str) {
    let (status, app) = admin(
        host,
        "app",
        json!({
            "slug": "tether",
            "client_id": "Iv1.test",
            "client_secret": "test-client-secret",
            "setup_url": format!("{tether}/github/setup"),
            "webhook_url": format!("{tether}/webhooks/github"),
            "webhook_secret": "test-webhook-secret",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{app}");
}

/// `POST /login/oauth/access_token` with a form body, asking for JSON.
async fn token_request(host: &FakeCodeHost, form: &[(&str, &str)]) -> Value {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = reqwest::Client::new()
        .post(format!("{}/login/oauth/access_token", host.url()))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The signed-in user authorizes; returns the code (and checks `state` came back unchanged).
async fn authorize(host: &FakeCodeHost, redirect_uri: &str) -> String {
    let response = browser()
        .get(format!("{}/login/oauth/authorize", host.url()))
        .query(&[
            ("client_id", "Iv1.test"),
            ("redirect_uri", redirect_uri),
            ("state", "s t&ate/1"),
        ])
        .send()
        .await
        .unwrap();
    let (target, params) = location(&response);
    assert_eq!(target, redirect_uri);
    assert_eq!(param(&params, "state"), Some("s t&ate/1"));
    param(&params, "code").unwrap().to_owned()
}

/// The whole dance for the signed-in user: (access token, refresh token).
async fn user_token(host: &FakeCodeHost) -> (String, String) {
    let code = authorize(host, "http://tether.test/github/callback").await;
    let body = token_request(
        host,
        &[
            ("client_id", "Iv1.test"),
            ("client_secret", "test-client-secret"),
            ("code", &code),
        ],
    )
    .await;
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

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

/// The signed-in user installs the App; returns the redirect's parameters.
async fn install(host: &FakeCodeHost, query: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let response = browser()
        .get(format!("{}/apps/tether/installations/new", host.url()))
        .query(query)
        .send()
        .await
        .unwrap();
    location(&response)
}

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
