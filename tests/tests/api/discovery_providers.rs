//! Discovery for GitHub (as the Tether GitHub App), Bitbucket Cloud and Azure DevOps against
//! faked provider APIs shaped like their documentation.

use crate::connections_github::link_github;
use crate::fixtures::{self, rows};
use crate::helpers::{Backend, TestApp, spawn_api_only, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use entities::{ConnectionStatus, DiscoveryOutcome, Visibility};
use jobs::discovery::RunReport;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;
use tests::eventually;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn run(app: &TestApp, global_id: &str) -> (entities::connection::Model, RunReport) {
    let conn = fixtures::connection_row(&app.state.db, global_id).await;
    let report = fixtures::discover(app, &conn).await;
    (conn, report)
}

fn github_repo(id: u64) -> Value {
    json!({"id": id, "node_id": format!("R_{id}"), "name": format!("svc-{id}"), "full_name": format!("ghost-org/svc-{id}"),
           "private": !id.is_multiple_of(3), "visibility": if id.is_multiple_of(3) { "public" } else { "private" },
           "html_url": format!("https://github.com/ghost-org/svc-{id}"), "clone_url": format!("https://github.com/ghost-org/svc-{id}.git"),
           "default_branch": "main", "archived": false, "fork": id == 2, "language": "Go", "size": 321,
           "topics": ["platform"], "pushed_at": "2026-11-01T12:00:00Z", "owner": {"login": "ghost-org"}})
}

async fn github_discovery_lists_an_installation_as_the_app(backend: Backend) {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/installations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 1, "installations": [
            {"id": 123456, "account": {"login": "ghost-org"}, "permissions": {"contents": "read", "metadata": "read"}}]})))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/123456/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_InstallationTokenFromTheApp", "expires_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()})))
        .expect(1)
        .mount(&github)
        .await;
    for (page, ids) in [("1", 1..=100u64), ("2", 101..=130u64)] {
        Mock::given(method("GET"))
            .and(path("/installation/repositories"))
            .and(query_param("page", page))
            .and(header(
                "Authorization",
                "Bearer ghs_InstallationTokenFromTheApp",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 130, "repositories": ids.map(github_repo).collect::<Vec<_>>()})))
            .mount(&github)
            .await;
    }
    let app = spawn_api_only(backend, github_app_at(github.uri(), "4242")).await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    let created = app
        .graphql(Some(&owner.token), "mutation { createGitHubConnection(input: {installationId: 123456}) { connection { id } userErrors { code message } } }", json!({}))
        .await;
    let id = created["data"]["createGitHubConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let (conn, report) = run(&app, &id).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Succeeded, "{report:?}");
    assert_eq!(report.counters.added, 130);
    let repos = rows(&app, &conn).await;
    let three = repos.iter().find(|r| r.external_id == "3").unwrap();
    assert_eq!(
        (three.full_name.as_str(), three.visibility, three.size_kb),
        ("ghost-org/svc-3", Visibility::Public, Some(321))
    );
    assert!(repos.iter().find(|r| r.external_id == "2").unwrap().fork);
    // A second run reuses the cached installation token (the mock expects one mint).
    let (_, again) = run(&app, &id).await;
    assert_eq!(again.counters.unchanged, 130);
}

/// A GitHub where installation `id` is visible to the linked account and minting its token
/// answers `status`.
async fn github_minting(id: u64, status: u16) -> MockServer {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/installations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 1, "installations": [
            {"id": id, "account": {"login": "ghost-org"}, "permissions": {"contents": "read", "metadata": "read"}}]})))
        .mount(&github)
        .await;
    let message = match status {
        401 => "A JSON web token could not be decoded",
        403 => "This installation has been suspended",
        _ => "Not Found",
    };
    Mock::given(method("POST"))
        .and(path(format!("/app/installations/{id}/access_tokens")))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": message})))
        .expect(1..)
        .mount(&github)
        .await;
    github
}

/// Links a GitHub account for a new owner and connects installation `id` as them.
async fn connect_installation(app: &TestApp, id: u64) -> String {
    let owner = app.owner().await;
    link_github(app, &owner).await;
    let created = app
        .graphql(Some(&owner.token), "mutation($id: ID!) { createGitHubConnection(input: {installationId: $id}) { connection { id } userErrors { message } } }", json!({"id": id}))
        .await;
    created["data"]["createGitHubConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

async fn github_discovery_marks_an_uninstalled_app_suspended(backend: Backend) {
    let github = github_minting(77, 404).await;
    let app = spawn_api_only(backend, github_app_at(github.uri(), "4242")).await;
    let id = connect_installation(&app, 77).await;
    let (conn, report) = run(&app, &id).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Failed);
    let now = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status, ConnectionStatus::Suspended);
    assert!(now.status_message.unwrap().contains("no longer installed"));
}

async fn github_discovery_marks_a_suspended_installation_suspended(backend: Backend) {
    let github = github_minting(78, 403).await;
    let app = spawn_api_only(backend, github_app_at(github.uri(), "4242")).await;
    let id = connect_installation(&app, 78).await;
    let (conn, report) = run(&app, &id).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Failed);
    let now = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status, ConnectionStatus::Suspended);
    assert!(now.status_message.unwrap().contains("is suspended"));
}

/// A 401 to the mint means GitHub refused the app's own JWT: the operator configured the wrong
/// app id or key. Not the user's to fix, so not UNAUTHORIZED nor SUSPENDED; workers run here so
/// the ERROR line is this app's.
async fn github_discovery_with_a_wrong_app_key_degrades_and_tells_the_operator(backend: Backend) {
    let github = github_minting(79, 401).await;
    let app = spawn_app_with(backend, github_app_at(github.uri(), "4242")).await;
    let id = connect_installation(&app, 79).await;
    let conn = fixtures::connection_row(&app.state.db, &id).await;
    let row = || async {
        entities::connection::Entity::find_by_id(conn.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    eventually(
        "the connection to be degraded",
        Duration::from_secs(30),
        async || row().await.status == ConnectionStatus::Degraded,
    )
    .await;
    let message = row().await.status_message.unwrap();
    assert!(message.contains("id or private key is wrong"), "{message}");
    assert!(message.contains("TETHER_GITHUB_APP_ID"), "{message}");
    assert!(
        message.contains("TETHER_GITHUB_APP_PRIVATE_KEY_FILE"),
        "{message}"
    );
    let runs = entities::discovery_run::Entity::find()
        .filter(entities::discovery_run::Column::ConnectionId.eq(conn.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let finished = runs.iter().find(|r| r.finished_at.is_some()).unwrap();
    assert_eq!(finished.outcome, Some(DiscoveryOutcome::Failed));
    assert_eq!(finished.issues[0]["code"], "APP_MISCONFIGURED");
    eventually(
        "an ERROR line naming the app's settings",
        Duration::from_secs(10),
        async || {
            app.logs()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .any(|line| {
                    line["level"] == "ERROR"
                        && line["fields"]["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("TETHER_GITHUB_APP_ID"))
                        && line["fields"]["github_said"] == "A JSON web token could not be decoded"
                })
        },
    )
    .await;
}

fn bitbucket_repo(n: u64) -> Value {
    json!({"type": "repository", "uuid": format!("{{00000000-0000-0000-0000-{n:012}}}"), "name": format!("Repo {n}"),
           "slug": format!("repo-{n}"), "full_name": format!("ghost/repo-{n}"), "is_private": true, "language": "rust",
           "size": 10240, "updated_on": "2026-11-02T08:00:00.000000+00:00", "mainbranch": {"type": "branch", "name": "trunk"},
           "links": {"html": {"href": format!("https://bitbucket.org/ghost/repo-{n}")},
                     "clone": [{"name": "https", "href": format!("https://x-token-auth@bitbucket.org/ghost/repo-{n}.git")},
                               {"name": "ssh", "href": format!("git@bitbucket.org:ghost/repo-{n}.git")}]}})
}

async fn bitbucket_discovery_lists_a_workspace(backend: Backend) {
    let server = healthy_bitbucket(&format!("Bearer {BITBUCKET_TOKEN}")).await;
    for (page, ids) in [("1", 1..=100u64), ("2", 101..=140u64)] {
        let mut body = json!({"size": 140, "page": page.parse::<u64>().unwrap(), "pagelen": 100,
                              "values": ids.map(bitbucket_repo).collect::<Vec<_>>()});
        if page == "1" {
            body["next"] = json!(format!(
                "{}/2.0/repositories/ghost?pagelen=100&page=2",
                server.uri()
            ));
        }
        Mock::given(method("GET"))
            .and(path("/2.0/repositories/ghost"))
            .and(query_param("pagelen", "100"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let uri = server.uri();
    let app = spawn_api_only(backend, move |raw| raw.bitbucket_api_url = uri).await;
    let owner = app.owner().await;
    let created = app
        .graphql(Some(&owner.token), "mutation($t: String!) { createBitbucketConnection(input: {workspaceId: \"ghost\", token: $t}) { connection { id } } }", json!({"t": BITBUCKET_TOKEN}))
        .await;
    let id = created["data"]["createBitbucketConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (conn, report) = run(&app, &id).await;
    assert_eq!(
        (report.outcome, report.counters.added),
        (DiscoveryOutcome::Succeeded, 140)
    );
    let repos = rows(&app, &conn).await;
    let one = repos
        .iter()
        .find(|r| r.full_name == "ghost/repo-1")
        .unwrap();
    assert_eq!(
        one.clone_url.as_deref(),
        Some("https://bitbucket.org/ghost/repo-1.git"),
        "no user name in clone URLs"
    );
    assert_eq!(one.default_branch.as_deref(), Some("trunk"));
    assert_eq!(one.size_kb, Some(10));
}

async fn azure_devops_discovery_lists_every_project(backend: Backend) {
    let server = healthy_azure().await;
    // The organization-level list holds every project's repositories, with their project.
    let projects = [("p1", "Platform", "private", 3), ("p2", "Web", "public", 2)];
    let repos: Vec<Value> = projects
        .iter()
        .flat_map(|(id, name, visibility, count)| {
            (0..*count).map(move |i| json!({"id": format!("{id}-r{i}"), "name": format!("repo{i}"),
                "project": {"id": id, "name": name, "state": "wellFormed", "visibility": visibility},
                "defaultBranch": "refs/heads/main", "size": 4096,
                "remoteUrl": format!("https://ghost@dev.azure.com/ghost/{name}/_git/repo{i}"),
                "webUrl": format!("https://dev.azure.com/ghost/{name}/_git/repo{i}"), "isDisabled": i == 1}))
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/ghost/_apis/git/repositories"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"count": repos.len(), "value": repos})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = spawn_api_only(backend, move |raw| raw.azure_devops_url = Some(uri)).await;
    let owner = app.owner().await;
    let created = app
        .graphql(Some(&owner.token), "mutation($t: String!) { createAzureDevOpsConnection(input: {organizationUrl: \"https://dev.azure.com/ghost\", token: $t}) { connection { id } } }", json!({"t": AZURE_PAT}))
        .await;
    let id = created["data"]["createAzureDevOpsConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (conn, report) = run(&app, &id).await;
    assert_eq!(
        (report.outcome, report.counters.added),
        (DiscoveryOutcome::Succeeded, 5)
    );
    let repos = rows(&app, &conn).await;
    let web = repos.iter().find(|r| r.external_id == "p2-r0").unwrap();
    assert_eq!(web.full_name, "Web/repo0");
    assert_eq!(web.visibility, Visibility::Public);
    assert_eq!(web.default_branch.as_deref(), Some("main"));
    assert_eq!(
        web.clone_url.as_deref(),
        Some("https://dev.azure.com/ghost/Web/_git/repo0")
    );
    // The listing marks every project's second repository disabled.
    for repo in &repos {
        assert_eq!(
            repo.disabled,
            repo.external_id.ends_with("-r1"),
            "{}",
            repo.external_id
        );
        assert!(
            !repo.archived,
            "Azure DevOps has no archive: {}",
            repo.external_id
        );
    }
}

on_both_backends!(
    github_discovery_lists_an_installation_as_the_app,
    github_discovery_marks_an_uninstalled_app_suspended,
    github_discovery_marks_a_suspended_installation_suspended,
    github_discovery_with_a_wrong_app_key_degrades_and_tells_the_operator,
    bitbucket_discovery_lists_a_workspace,
    azure_devops_discovery_lists_every_project,
);
