//! Runs always end: past their deadline (`PARTIAL`, the lease released, the connection due
//! again) and after a database error mid-run (closed `FAILED`, the connection `DEGRADED`, never
//! left `SYNCING`, and a retry succeeds).

use crate::fixtures::{self, discover};
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use entities::{ConnectionStatus, DiscoveryOutcome, discovery_run, repository};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig, Provider};

async fn slow_app(
    backend: Backend,
    deadline_secs: u64,
) -> (TestApp, FakeCodeHost, entities::connection::Model) {
    slow_app_of(backend, deadline_secs, 3_000, Duration::from_millis(300)).await
}

/// A GitLab group of `repos` in pages of `latency`, connected.
async fn slow_app_of(
    backend: Backend,
    deadline_secs: u64,
    repos: usize,
    latency: Duration,
) -> (TestApp, FakeCodeHost, entities::connection::Model) {
    let fake = FakeCodeHost::start(FakeConfig {
        repos_per_scope: repos,
        latency,
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    fake.set_repos(Provider::Gitlab, "slow/group", repos);
    let url = fake.url();
    let app = spawn_api_only(backend, move |raw| {
        raw.gitlab_url = url;
        raw.discovery_deadline_secs = deadline_secs;
    })
    .await;
    let owner = app.owner().await;
    let body = app
        .graphql(
            Some(&owner.token),
            "mutation { createGitLabConnection(input: {groupPath: \"slow/group\", token: \"glpat-fake-token-0001\"}) { connection { id } userErrors { message } } }",
            json!({}),
        )
        .await;
    let id = body["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let conn = fixtures::connection_row(&app.state.db, &id).await;
    (app, fake, conn)
}

async fn reload(app: &TestApp, id: uuid::Uuid) -> entities::connection::Model {
    entities::connection::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

type Running = tokio::task::JoinHandle<Result<jobs::discovery::Outcome, sea_orm::DbErr>>;

/// Starts a discovery of `conn` in the background; returns once its first page is written.
async fn run_until_the_first_page(app: &TestApp, conn: &entities::connection::Model) -> Running {
    let discovery = app.state.discovery.clone();
    let id = conn.id;
    let running =
        tokio::spawn(async move { discovery.run(id, entities::DiscoveryTrigger::Manual).await });
    let db = app.state.db.clone();
    tests::eventually(
        "the first page is written",
        Duration::from_secs(30),
        async || repository::Entity::find().count(&db).await.unwrap() > 0,
    )
    .await;
    running
}

async fn a_run_past_its_deadline_ends_partial_and_comes_due_again(backend: Backend) {
    let (app, _fake, conn) = slow_app(backend, 2).await;
    let started = std::time::Instant::now();
    let report = discover(&app, &conn).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.outcome, DiscoveryOutcome::Partial, "{report:?}");
    assert!(report.counters.added > 0 && report.counters.added < 3_000);
    let row = reload(&app, conn.id).await;
    assert_eq!(row.status, ConnectionStatus::Degraded);
    assert!(row.lease_owner.is_none(), "the lease is released");
    assert!(
        row.next_discovery_at
            .is_some_and(|at| at > chrono::Utc::now())
    );
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        run.issues[0]["code"], "DEADLINE_EXCEEDED",
        "{:?}",
        run.issues
    );
}

async fn a_database_error_mid_run_closes_the_run_and_a_retry_recovers(backend: Backend) {
    let (app, _fake, conn) = slow_app(backend, 900).await;
    let running = run_until_the_first_page(&app, &conn).await;
    let db = app.state.db.clone();
    // The repositories table goes away for a moment: the next page's write fails.
    db.execute_unprepared("ALTER TABLE repositories RENAME TO repositories_away")
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap_or_else(|_| panic!("the run did not end; tether's log:\n{}", app.logs()))
        .unwrap()
        .expect("the run is closed, not left open");
    db.execute_unprepared("ALTER TABLE repositories_away RENAME TO repositories")
        .await
        .unwrap();
    let jobs::discovery::Outcome::Finished(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(report.outcome, DiscoveryOutcome::Failed);
    let row = reload(&app, conn.id).await;
    assert_eq!(row.status, ConnectionStatus::Degraded, "never left SYNCING");
    assert!(row.lease_owner.is_none());
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(run.finished_at.is_some());
    assert_eq!(run.issues[0]["code"], "DATABASE_ERROR");
    assert!(
        !run.issues[0]["message"]
            .as_str()
            .unwrap()
            .contains("repositories_away"),
        "the database's own message stays in the log"
    );

    let retried = discover(&app, &row).await;
    assert_eq!(retried.outcome, DiscoveryOutcome::Succeeded);
    assert_eq!(
        repository::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        3_000
    );
    let row = reload(&app, conn.id).await;
    assert_eq!(row.status, ConnectionStatus::Active);
}

async fn a_cancellation_the_bus_lost_is_read_at_the_next_lease_renewal(backend: Backend) {
    // 200 pages of 800 ms, eight at a time (past 10,000 GitLab gives no totals and the pages
    // are fetched ahead): 20 s, longer than a lease renewal (10 s).
    let (app, _fake, conn) = slow_app_of(backend, 900, 20_000, Duration::from_millis(800)).await;
    let running = run_until_the_first_page(&app, &conn).await;
    let db = app.state.db.clone();
    // The request's column alone, as if its message never arrived.
    entities::connection::Entity::update_many()
        .col_expr(
            entities::connection::Column::CancelRequestedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now()),
        )
        .filter(sea_orm::ColumnTrait::eq(
            &entities::connection::Column::Id,
            conn.id,
        ))
        .exec(&db)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the run stops by its next renewal")
        .unwrap()
        .unwrap();
    let jobs::discovery::Outcome::Finished(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(report.outcome, DiscoveryOutcome::Cancelled);
    assert!(report.counters.added < 20_000, "stopped mid-run");
}

on_both_backends!(
    a_cancellation_the_bus_lost_is_read_at_the_next_lease_renewal,
    a_run_past_its_deadline_ends_partial_and_comes_due_again,
    a_database_error_mid_run_closes_the_run_and_a_retry_recovers,
);
