//! The job dashboard's server side: its cookie (HttpOnly, SameSite=Strict, Secure behind
//! https), what protects requests made with it (same origin, CSRF token), its page under a
//! strict CSP, and the actions it calls: cancel a running discovery, retry a run, retry every
//! failed one, queue counts and runs per hour.

use crate::fixtures::{self, discover};
use crate::helpers::{Backend, TestApp, spawn_api_only, spawn_app_with};
use crate::on_both_backends;
use entities::{ConnectionStatus, DiscoveryOutcome, RepositoryState, discovery_run, repository};
use reqwest::header::{HeaderMap, LOCATION, ORIGIN, SET_COOKIE};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig, Provider};
use tests::ws::{Ended, WsClient, WsProtocol};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts the sign-in form from `origin`.
async fn sign_in(app: &TestApp, origin: &str, email: &str, password: &str) -> reqwest::Response {
    no_redirects()
        .post(format!("{}/jobs/login", app.address))
        .header(ORIGIN, origin)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tether_session="))
        .map(str::to_owned)
}

/// The CSRF token the page carries for `cookie`.
async fn csrf_of(app: &TestApp, cookie: &str) -> String {
    let page = reqwest::Client::new()
        .get(format!("{}/jobs", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = r#"<meta name="tether-csrf" content=""#;
    let start = page.find(marker).expect("the page has its CSRF meta") + marker.len();
    page[start..start + 64].to_owned()
}

async fn graphql_with_cookie(
    app: &TestApp,
    cookie: &str,
    csrf: Option<&str>,
    origin: &str,
    query: &str,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .header("cookie", cookie)
        .header(ORIGIN, origin)
        .json(&json!({"query": query}));
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn admins_sign_in_with_a_strict_cookie_that_only_our_pages_can_use(backend: Backend) {
    let app = spawn_api_only(backend, |_| {}).await;
    let owner = app.owner().await;
    let origin = app.address.clone();

    let page = reqwest::get(format!("{}/jobs", app.address)).await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'self'; script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let body = page.text().await.unwrap();
    assert!(
        body.contains(r#"<meta name="tether-csrf" content="">"#),
        "signed out"
    );

    let refused = sign_in(
        &app,
        "http://evil.example",
        &owner.email,
        "correct horse battery",
    )
    .await;
    assert_eq!(
        refused.status(),
        403,
        "a sign-in form posted from another site"
    );
    assert!(session_cookie(refused.headers()).is_none());

    let wrong = sign_in(&app, &origin, &owner.email, "not the password").await;
    assert_eq!(wrong.status(), 303);
    assert_eq!(wrong.headers()[LOCATION], "/jobs?error=invalid");
    assert!(session_cookie(wrong.headers()).is_none());

    let signed = sign_in(&app, &origin, &owner.email, "correct horse battery").await;
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()[LOCATION], "/jobs");
    let set_cookie = session_cookie(signed.headers()).expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http on loopback: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&app, &cookie).await;
    assert!(csrf.chars().all(|c| c.is_ascii_hexdigit()), "{csrf}");

    let query = "{ jobQueues { name pending } }";
    let forged = graphql_with_cookie(&app, &cookie, None, &origin, query).await;
    assert_eq!(
        forged["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "no CSRF token: {forged}"
    );
    let elsewhere =
        graphql_with_cookie(&app, &cookie, Some(&csrf), "http://evil.example", query).await;
    assert_eq!(
        elsewhere["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{elsewhere}"
    );
    let own = graphql_with_cookie(&app, &cookie, Some(&csrf), &origin, query).await;
    assert_eq!(
        own["data"]["jobQueues"].as_array().map(Vec::len),
        Some(8),
        "{own}"
    );

    // The WebSocket takes the cookie with the CSRF token, from our origin only.
    let mut socket = WsClient::open_with(
        &app.address,
        WsProtocol::TransportWs,
        &[("cookie", &cookie), ("origin", &origin)],
    )
    .await;
    assert_eq!(
        socket.init(json!({"csrfToken": csrf})).await.unwrap()["type"],
        "connection_ack"
    );
    let mut hijack = WsClient::open_with(
        &app.address,
        WsProtocol::TransportWs,
        &[("cookie", &cookie), ("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(
        hijack.init(json!({"csrfToken": csrf})).await.err(),
        Some(Ended::Closed(4403, "Forbidden".into()))
    );

    // Signing out needs the token too, and ends the session.
    let client = no_redirects();
    let forged_out = client
        .post(format!("{}/jobs/logout", app.address))
        .header("cookie", &cookie)
        .header(ORIGIN, &origin)
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_out.status(), 403);
    let out = client
        .post(format!("{}/jobs/logout", app.address))
        .header("cookie", &cookie)
        .header(ORIGIN, &origin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(session_cookie(out.headers()).is_some_and(|c| c.contains("Max-Age=0")));
    let after = graphql_with_cookie(&app, &cookie, Some(&csrf), &origin, query).await;
    assert_eq!(
        after["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{after}"
    );
}

async fn the_cookie_is_secure_behind_https(backend: Backend) {
    let app = spawn_app_with(backend, |raw| {
        raw.public_url = Some("https://tether.example.com/".into());
    })
    .await;
    let owner = app.owner().await;
    let signed = sign_in(&app, &app.address, &owner.email, "correct horse battery").await;
    let set_cookie = session_cookie(signed.headers()).expect("a session cookie");
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

async fn slow_gitlab(repos: usize, latency_ms: u64) -> FakeCodeHost {
    FakeCodeHost::start(FakeConfig {
        repos_per_scope: repos,
        latency: Duration::from_millis(latency_ms),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

async fn create(
    app: &TestApp,
    token: &str,
    group: &str,
    secret: &str,
) -> (String, entities::connection::Model) {
    let body = app
        .graphql(
            Some(token),
            "mutation($g: String!, $t: String!) { createGitLabConnection(input: {groupPath: $g, token: $t}) { connection { id } userErrors { message } } }",
            json!({"g": group, "t": secret}),
        )
        .await;
    let id = body["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    (
        id.clone(),
        fixtures::connection_row(&app.state.db, &id).await,
    )
}

async fn a_running_discovery_is_cancelled_and_runs_are_retried(backend: Backend) {
    // 40 pages of 200 ms: long enough to cancel mid-run.
    let fake = slow_gitlab(4_000, 200).await;
    fake.set_repos(Provider::Gitlab, "slow/group", 4_000);
    let url = fake.url();
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = url).await;
    let owner = app.owner().await;
    let (id, conn) = create(&app, &owner.token, "slow/group", "glpat-fake-token-0001").await;

    let running = {
        let discovery = app.state.discovery.clone();
        tokio::spawn(async move {
            discovery
                .run(conn.id, entities::DiscoveryTrigger::Manual)
                .await
                .unwrap()
        })
    };
    let db = app.state.db.clone();
    tests::eventually(
        "the run writes its first page",
        Duration::from_secs(30),
        async || repository::Entity::find().count(&db).await.unwrap() > 0,
    )
    .await;
    let cancelled = app
        .graphql(
            Some(&owner.token),
            "mutation($id: ID!) { cancelDiscovery(input: {connectionId: $id}) { connection { id } cancelledJobs userErrors { message } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        cancelled["data"]["cancelDiscovery"]["connection"]["id"], id,
        "{cancelled}"
    );
    // The create's own job was still waiting (no workers here): it is gone too.
    assert_eq!(cancelled["data"]["cancelDiscovery"]["cancelledJobs"], 1);
    let report = match tokio::time::timeout(Duration::from_secs(5), running).await {
        Ok(Ok(jobs::discovery::Outcome::Finished(report))) => report,
        other => panic!("the run did not stop promptly: {other:?}"),
    };
    assert_eq!(report.outcome, DiscoveryOutcome::Cancelled);
    assert!(report.counters.added < 4_000, "stopped mid-run");
    let row = fixtures::connection_row(&app.state.db, &id).await;
    assert_eq!(
        row.status,
        ConnectionStatus::Pending,
        "as it was before the run"
    );
    assert!(row.cancel_requested_at.is_none(), "the request is cleared");
    let gone = repository::Entity::find()
        .filter(repository::Column::State.eq(RepositoryState::Gone))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(gone, 0, "a cancelled run marks nothing gone");
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.issues[0]["code"], "CANCELLED");

    let run_id = api::graphql::ids::encode(api::graphql::ids::Kind::DiscoveryRun, report.run_id);
    let detail = app
        .graphql(
            Some(&owner.token),
            "query($id: ID!) { node(id: $id) { ... on DiscoveryRun { outcome trigger durationMs connectionName issues { code message } } } }",
            json!({"id": run_id.to_string()}),
        )
        .await;
    assert_eq!(detail["data"]["node"]["outcome"], "CANCELLED", "{detail}");
    assert_eq!(detail["data"]["node"]["issues"][0]["code"], "CANCELLED");

    let retried = app
        .graphql(
            Some(&owner.token),
            "mutation($id: ID!) { retryDiscoveryRun(input: {id: $id}) { connection { id nextDiscoveryAt } userErrors { code message } } }",
            json!({"id": run_id.to_string()}),
        )
        .await;
    assert_eq!(
        retried["data"]["retryDiscoveryRun"]["connection"]["id"], id,
        "{retried}"
    );
    let queues = app
        .graphql(
            Some(&owner.token),
            "{ jobQueues { name lane provider pending running scheduled failed done } }",
            json!({}),
        )
        .await;
    let gitlab = queues["data"]["jobQueues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["provider"] == "GITLAB" && q["lane"] == "DISCOVERY")
        .cloned()
        .unwrap();
    assert_eq!(
        gitlab["pending"], 1,
        "the retry waits on the GitLab queue: {gitlab}"
    );

    // A successful run cannot be retried; "retry all failed" takes only failed or partial ones.
    let fine = discover(&app, &fixtures::connection_row(&app.state.db, &id).await).await;
    assert_eq!(fine.outcome, DiscoveryOutcome::Succeeded);
    let fine_id = api::graphql::ids::encode(api::graphql::ids::Kind::DiscoveryRun, fine.run_id);
    let refused = app
        .graphql(
            Some(&owner.token),
            "mutation($id: ID!) { retryDiscoveryRun(input: {id: $id}) { connection { id } userErrors { field code message } } }",
            json!({"id": fine_id.to_string()}),
        )
        .await;
    assert_eq!(
        refused["data"]["retryDiscoveryRun"]["userErrors"][0]["field"], "id",
        "{refused}"
    );
    fake.set_repos(Provider::Gitlab, "revoked/group", 3);
    let (broken_id, broken) =
        create(&app, &owner.token, "revoked/group", "glpat-fake-token-0002").await;
    fake.revoke_token("glpat-fake-token-0002");
    assert_eq!(
        discover(&app, &broken).await.outcome,
        DiscoveryOutcome::Failed
    );
    let all = app
        .graphql(
            Some(&owner.token),
            "mutation { retryFailedDiscoveryRuns { connections { id } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all["data"]["retryFailedDiscoveryRuns"]["connections"],
        json!([{"id": broken_id}]),
        "{all}"
    );

    // Runs per hour: the last 24 hours hold the three runs, one of them failed.
    let history = app
        .graphql(
            Some(&owner.token),
            "{ discoveryRunsPerHour(hours: 24) { queue provider buckets { hour runs failures } } }",
            json!({}),
        )
        .await;
    let queues = history["data"]["discoveryRunsPerHour"].as_array().unwrap();
    assert_eq!(queues.len(), 4, "{history}");
    let gitlab = queues.iter().find(|q| q["provider"] == "GITLAB").unwrap();
    let buckets = gitlab["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    let sum = |field: &str| {
        buckets
            .iter()
            .map(|b| b[field].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!((sum("runs"), sum("failures")), (3, 1), "{gitlab}");
    let newest_first = app
        .graphql(
            Some(&owner.token),
            "{ discoveryRuns(first: 2) { nodes { outcome } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        newest_first["data"]["discoveryRuns"],
        json!({"nodes": [{"outcome": "FAILED"}, {"outcome": "SUCCEEDED"}], "pageInfo": {"hasNextPage": true}})
    );
}

async fn members_cannot_use_the_dashboard_actions(backend: Backend) {
    let app = spawn_api_only(backend, |_| {}).await;
    let owner = app.owner().await;
    app.sign_up("member@example.com", "Elsewhere").await;
    let added = app
        .graphql(
            Some(&owner.token),
            "mutation { addMember(input: {email: \"member@example.com\", role: MEMBER}) { userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        added["data"]["addMember"]["userErrors"],
        json!([]),
        "{added}"
    );
    let login = app
        .graphql(
            None,
            "mutation($org: ID!) { login(input: {email: \"member@example.com\", password: \"correct horse battery\", organizationId: $org}) { token } }",
            json!({"org": owner.organization_id}),
        )
        .await;
    let token = login["data"]["login"]["token"].as_str().unwrap();
    for query in [
        "{ jobQueues { name } }",
        "mutation { retryFailedDiscoveryRuns { connections { id } } }",
    ] {
        let body = app.graphql(Some(token), query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{query}: {body}"
        );
    }
    let runs = app
        .graphql(Some(token), "{ discoveryRuns { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        runs["data"]["discoveryRuns"]["nodes"],
        json!([]),
        "members read runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_from_the_binary_under_a_same_origin_policy() {
    let app = spawn_api_only(Backend::Sqlite, |_| {}).await;
    let page = reqwest::Client::new()
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self';"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    let assets: Vec<&str> = html
        .split('"')
        .filter(|part| part.starts_with("/graphql/assets/"))
        .collect();
    assert!(assets.len() >= 5, "{html}");
    for asset in assets {
        let response = reqwest::get(format!("{}{asset}", app.address))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = if asset.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(kind.starts_with(expected), "{asset}: {kind}");
    }
    let missing = reqwest::get(format!("{}/graphql/assets/vendor.sh", app.address))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404, "only the page's files are served");
}

on_both_backends!(
    admins_sign_in_with_a_strict_cookie_that_only_our_pages_can_use,
    the_cookie_is_secure_behind_https,
    a_running_discovery_is_cancelled_and_runs_are_retried,
    members_cannot_use_the_dashboard_actions,
);
