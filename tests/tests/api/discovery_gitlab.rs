//! Discovery of a GitLab group against a fake GitLab: pages, renames, removals, rate limits,
//! revoked tokens, outages, and one discovery per connection at a time.

use crate::connections_gitlab::CREATE_GITLAB;
use crate::fixtures::{self, discover};
use crate::helpers::{Backend, TestApp, spawn_api_only, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use entities::{
    ConnectionStatus, DiscoveryOutcome, DiscoveryTrigger, RepositoryState, discovery_run,
    repository,
};
use jobs::discovery::Outcome;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;
use tests::eventually;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROJECTS: &str = "/api/v4/groups/ghost%2Fmygroup/projects";

fn project(id: u64, name: &str) -> Value {
    json!({
        "id": id, "name": name, "path": name, "path_with_namespace": format!("ghost/mygroup/{name}"),
        "web_url": format!("https://gitlab.com/ghost/mygroup/{name}"),
        "http_url_to_repo": format!("https://gitlab.com/ghost/mygroup/{name}.git"),
        "default_branch": "main", "visibility": if id.is_multiple_of(2) { "internal" } else { "private" },
        "archived": id.is_multiple_of(10), "topics": ["svc"], "last_activity_at": "2026-11-20T10:00:00.000Z",
        "statistics": {"repository_size": 2048 * id}
    })
}

/// Serves `projects` as GitLab's offset pagination does (100 per page, x-total-pages).
async fn serve_projects(server: &MockServer, projects: &[Value]) {
    server.reset().await;
    gitlab_token(server, &["read_api", "read_repository"], None, true).await;
    gitlab_group(server).await;
    gitlab_member(server, 30).await;
    let pages: Vec<&[Value]> = projects.chunks(100).collect();
    let total = pages.len().max(1);
    for n in 1..=total {
        let page = pages.get(n - 1).map(|p| p.to_vec()).unwrap_or_default();
        let mut response = ResponseTemplate::new(200)
            .set_body_json(Value::Array(page))
            .insert_header("x-total-pages", total.to_string().as_str())
            .insert_header("x-page", n.to_string().as_str())
            .insert_header("x-per-page", "100");
        if n < total {
            response = response.insert_header("x-next-page", (n + 1).to_string().as_str());
        }
        Mock::given(method("GET"))
            .and(path(PROJECTS))
            .and(query_param("page", n.to_string().as_str()))
            .and(query_param("include_subgroups", "true"))
            .respond_with(response)
            .mount(server)
            .await;
    }
}

fn projects(count: u64) -> Vec<Value> {
    (1..=count)
        .map(|i| project(i, &format!("repo-{i}")))
        .collect()
}

async fn connected(
    backend: Backend,
    count: u64,
) -> (TestApp, MockServer, entities::connection::Model) {
    connected_with(backend, count, |_| {}).await
}

/// A GitLab group of `count` projects, connected on an app whose settings `customize` adjusts.
async fn connected_with(
    backend: Backend,
    count: u64,
    customize: impl FnOnce(&mut api::config::RawSettings),
) -> (TestApp, MockServer, entities::connection::Model) {
    let gitlab = MockServer::start().await;
    serve_projects(&gitlab, &projects(count)).await;
    let uri = gitlab.uri();
    let app = spawn_api_only(backend, move |raw| {
        raw.gitlab_url = uri;
        customize(raw);
    })
    .await;
    let owner = app.owner().await;
    let created = app
        .graphql(
            Some(&owner.token),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}}),
        )
        .await;
    let id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = fixtures::connection_row(&app.state.db, &id).await;
    (app, gitlab, conn)
}

async fn repositories(app: &TestApp, conn: &entities::connection::Model) -> Vec<repository::Model> {
    repository::Entity::find()
        .filter(repository::Column::OrganizationId.eq(conn.organization_id))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn discovery_writes_every_repository_of_a_paged_group(backend: Backend) {
    let (app, _gitlab, conn) = connected(backend, 250).await;
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Succeeded);
    assert_eq!(
        (
            report.counters.added,
            report.counters.updated,
            report.counters.gone
        ),
        (250, 0, 0)
    );
    assert_eq!(report.api_requests, 3, "one request per page of 100");
    let rows = repositories(&app, &conn).await;
    assert_eq!(rows.len(), 250);
    let seven = rows.iter().find(|r| r.external_id == "7").unwrap();
    assert_eq!(seven.full_name, "ghost/mygroup/repo-7");
    assert_eq!(
        seven.clone_url.as_deref(),
        Some("https://gitlab.com/ghost/mygroup/repo-7.git")
    );
    assert_eq!(seven.default_branch.as_deref(), Some("main"));
    assert_eq!(seven.visibility, entities::Visibility::Private);
    assert_eq!(seven.size_kb, Some(14));
    assert_eq!(seven.topic_list(), ["svc"]);
    assert!(
        rows.iter()
            .find(|r| r.external_id == "10")
            .unwrap()
            .archived
    );
    assert_eq!(
        crate::fixtures::listed_by(&app.state.db, seven).await,
        [conn.id]
    );

    let conn_now = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn_now.status, ConnectionStatus::Active);
    assert!(conn_now.last_discovered_at.is_some());
    assert!(
        conn_now.next_discovery_at.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(9)
    );
    assert!(conn_now.lease_owner.is_none());
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.added, run.api_requests, run.trigger),
        (250, 3, DiscoveryTrigger::Manual)
    );
    assert_eq!(run.outcome, Some(DiscoveryOutcome::Succeeded));
}

async fn a_rename_upstream_renames_the_same_row(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 5).await;
    discover(&app, &conn).await;
    let before = repositories(&app, &conn)
        .await
        .into_iter()
        .find(|r| r.external_id == "3")
        .unwrap();
    let mut renamed = projects(5);
    renamed[2] = project(3, "renamed-three");
    serve_projects(&gitlab, &renamed).await;
    let report = discover(&app, &conn).await;
    assert_eq!(
        (
            report.counters.added,
            report.counters.updated,
            report.counters.unchanged
        ),
        (0, 1, 4)
    );
    let after = repositories(&app, &conn)
        .await
        .into_iter()
        .find(|r| r.external_id == "3")
        .unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(after.full_name, "ghost/mygroup/renamed-three");
    assert_eq!(repositories(&app, &conn).await.len(), 5);
}

async fn a_repository_removed_upstream_is_gone_after_a_complete_run(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 5).await;
    discover(&app, &conn).await;
    let mut fewer = projects(5);
    fewer.remove(1);
    serve_projects(&gitlab, &fewer).await;
    let report = discover(&app, &conn).await;
    assert_eq!(report.counters.gone, 1);
    let two = repositories(&app, &conn)
        .await
        .into_iter()
        .find(|r| r.external_id == "2")
        .unwrap();
    assert_eq!(two.state, RepositoryState::Gone);
    // Unchanged runs back the schedule off.
    let third = discover(&app, &conn).await;
    assert!(third.next_at > report.next_at + chrono::Duration::minutes(5));
}

async fn a_rate_limit_mid_listing_marks_nothing_gone_and_reschedules(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 250).await;
    discover(&app, &conn).await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .with_priority(1)
        .mount(&gitlab)
        .await;
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Partial);
    assert_eq!(report.counters.gone, 0);
    let wait = report.next_at - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(100) && wait <= chrono::Duration::seconds(121),
        "{wait}"
    );
    let active = crate::fixtures::rows(&app, &conn)
        .await
        .into_iter()
        .filter(|r| r.state == RepositoryState::Active)
        .count();
    assert_eq!(active, 250);
    let conn_now = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn_now.status, ConnectionStatus::Degraded);
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.issues[0]["code"], "RATE_LIMITED");
}

async fn a_rate_limited_run_completes_once_the_limit_has_passed(backend: Backend) {
    // Waits over a second end the run, so a 2 s Retry-After reschedules it.
    let (app, gitlab, conn) =
        connected_with(backend, 250, |raw| raw.max_rate_limit_wait_secs = 1).await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gitlab)
        .await;
    let limited = discover(&app, &conn).await;
    assert_eq!(limited.outcome, DiscoveryOutcome::Partial);
    let wait = limited.next_at - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::zero() && wait <= chrono::Duration::seconds(3),
        "{wait}"
    );
    let row = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.next_discovery_at,
        Some(limited.next_at),
        "due again at the reset"
    );

    // Not a wait for something to happen: the reset is a wall-clock instant the app announced,
    // and this run must start after it, so time itself has to pass.
    tokio::time::sleep(wait.to_std().unwrap()).await;
    let later = discover(&app, &conn).await;
    assert_eq!(
        (
            later.outcome,
            later.counters.added + later.counters.unchanged
        ),
        (DiscoveryOutcome::Succeeded, 250),
        "{later:?}"
    );
    let row = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ConnectionStatus::Active);
}

async fn a_revoked_token_sets_unauthorized_and_keeps_repositories(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 5).await;
    discover(&app, &conn).await;
    gitlab.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&gitlab)
        .await;
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Failed);
    assert_eq!(
        report.api_requests, 1,
        "a refused credential is not retried"
    );
    let conn_now = entities::connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn_now.status, ConnectionStatus::Unauthorized);
    assert!(conn_now.status_message.unwrap().contains("401"));
    assert!(
        repositories(&app, &conn)
            .await
            .iter()
            .all(|r| r.state == RepositoryState::Active)
    );
}

async fn a_burst_of_server_errors_is_retried(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 150).await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&gitlab)
        .await;
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Succeeded);
    assert_eq!(report.counters.added, 150);
    assert_eq!(report.api_requests, 4, "two pages plus two retries");
}

async fn only_one_discovery_of_a_connection_runs_at_a_time(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 100).await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(Value::Array(projects(100)))
                .insert_header("x-total-pages", "1")
                .set_delay(Duration::from_millis(500)),
        )
        .with_priority(1)
        .mount(&gitlab)
        .await;
    let (a, b) = tokio::join!(
        app.state.discovery.run(conn.id, DiscoveryTrigger::Manual),
        app.state.discovery.run(conn.id, DiscoveryTrigger::Schedule)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Busy))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(repositories(&app, &conn).await.len(), 100);
}

/// The whole path, as a user sees it: create through GraphQL, and the job workers (apalis on
/// SQLite, or on Redis next to PostgreSQL) discover the repositories.
async fn repositories_appear_after_creating_a_connection(backend: Backend) {
    let gitlab = MockServer::start().await;
    serve_projects(&gitlab, &projects(120)).await;
    let uri = gitlab.uri();
    let app = spawn_app_with(backend, move |raw| raw.gitlab_url = uri).await;
    let owner = app.owner().await;
    let created = app
        .graphql(
            Some(&owner.token),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}}),
        )
        .await;
    let id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "query($id: ID!) { connection(id: $id) { status repositoryCount lastDiscoveredAt }
                  repositories(first: 1) { totalCount edges { node { fullName state } } } }";
    let mut body = json!(null);
    eventually(
        "the connection to be discovered (ACTIVE)",
        Duration::from_secs(20),
        async || {
            body = app
                .graphql(Some(&owner.token), query, json!({"id": id}))
                .await;
            body["data"]["connection"]["status"] == "ACTIVE"
        },
    )
    .await;
    assert_eq!(body["data"]["connection"]["repositoryCount"], 120);
    assert_eq!(body["data"]["repositories"]["totalCount"], 120);
    assert_eq!(
        body["data"]["repositories"]["edges"][0]["node"]["state"],
        "ACTIVE"
    );
    let runs = discovery_run::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "one discovery for one creation");
    assert_eq!(runs[0].trigger, DiscoveryTrigger::Created);

    // A manual sync runs again, through the queue.
    let sync = "mutation($id: ID!) { syncConnection(input: {id: $id}) { connection { id } userErrors { code } } }";
    app.graphql(Some(&owner.token), sync, json!({"id": id}))
        .await;
    eventually(
        "the manual sync's discovery to finish",
        Duration::from_secs(20),
        async || {
            discovery_run::Entity::find()
                .all(&app.state.db)
                .await
                .unwrap()
                .iter()
                .any(|r| r.trigger == DiscoveryTrigger::Manual && r.finished_at.is_some())
        },
    )
    .await;
}

async fn metadata_refresh_with_unchanged_etags_writes_nothing(backend: Backend) {
    let (app, gitlab, conn) = connected(backend, 5).await;
    discover(&app, &conn).await;
    for id in 1..=5u64 {
        let branch = format!("/api/v4/projects/{id}/repository/branches/main");
        let etag = format!("W/\"e{id}\"");
        Mock::given(method("GET"))
            .and(path(branch.as_str()))
            .and(wiremock::matchers::header("If-None-Match", etag.as_str()))
            .respond_with(ResponseTemplate::new(304).insert_header("ETag", etag.as_str()))
            .with_priority(1)
            .mount(&gitlab)
            .await;
        Mock::given(method("GET"))
            .and(path(branch.as_str()))
            .and(wiremock::matchers::header("PRIVATE-TOKEN", GITLAB_TOKEN))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("ETag", etag.as_str())
                    .set_body_json(json!({"name": "main", "commit": {"id": format!("{id:040x}"), "short_id": "x"}, "default": true})),
            )
            .with_priority(2)
            .mount(&gitlab)
            .await;
    }
    let first = app.state.discovery.refresh(conn.id).await.unwrap();
    assert_eq!(
        (first.checked, first.changed, first.not_modified),
        (5, 5, 0),
        "{first:?}"
    );
    let before = repositories(&app, &conn).await;
    let three = before.iter().find(|r| r.external_id == "3").unwrap();
    assert_eq!(
        three.head_commit_sha.as_deref(),
        Some(format!("{:040x}", 3).as_str())
    );
    assert_eq!(three.etag.as_deref(), Some("W/\"e3\""));

    let second = app.state.discovery.refresh(conn.id).await.unwrap();
    assert_eq!(
        (second.checked, second.changed, second.not_modified),
        (5, 0, 5),
        "{second:?}"
    );
    let after = repositories(&app, &conn).await;
    for row in &before {
        let same = after.iter().find(|r| r.id == row.id).unwrap();
        assert_eq!(same.refreshed_at, row.refreshed_at, "a 304 writes nothing");
    }
}

on_both_backends!(
    metadata_refresh_with_unchanged_etags_writes_nothing,
    repositories_appear_after_creating_a_connection,
    discovery_writes_every_repository_of_a_paged_group,
    a_rename_upstream_renames_the_same_row,
    a_repository_removed_upstream_is_gone_after_a_complete_run,
    a_rate_limit_mid_listing_marks_nothing_gone_and_reschedules,
    a_rate_limited_run_completes_once_the_limit_has_passed,
    a_revoked_token_sets_unauthorized_and_keeps_repositories,
    a_burst_of_server_errors_is_retried,
    only_one_discovery_of_a_connection_runs_at_a_time,
);
