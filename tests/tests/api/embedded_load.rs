//! Embedded mode under load: the job queue and the data share one SQLite file, so four
//! 25,000-repository discoveries at once, with 16 clients reading `repositories` all the while,
//! must each succeed, with no "database is locked" and no pool timeout anywhere in the log.

use crate::helpers::{Backend, spawn_app_with};
use entities::{DiscoveryOutcome, discovery_run, repository};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tests::fake::{FakeCodeHost, Provider};

const GROUPS: usize = 4;
const REPOS: usize = 25_000;
const READERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_big_discoveries_and_sixteen_readers_share_one_sqlite_file() {
    let fake = FakeCodeHost::with_repos(0).await.unwrap();
    let groups: Vec<String> = (0..GROUPS).map(|i| format!("load/group-{i}")).collect();
    for group in &groups {
        fake.set_repos(Provider::Gitlab, group, REPOS);
    }
    let url = fake.url();
    // The embedded defaults, as `tether serve` runs them: its own pool size and workers.
    let app = spawn_app_with(Backend::Sqlite, move |raw| {
        raw.gitlab_url = url;
        raw.database_max_connections = None;
    })
    .await;
    let owner = app.owner().await;
    let app = Arc::new(app);

    // Sixteen readers, from before the first connection until every run has ended.
    let done = Arc::new(AtomicBool::new(false));
    let (reads, failed_reads) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (app, done) = (app.clone(), done.clone());
            let (reads, failed) = (reads.clone(), failed_reads.clone());
            let token = owner.token.clone();
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let body = app
                        .graphql(
                            Some(&token),
                            "{ repositories(first: 100, state: ACTIVE) { edges { node { id fullName defaultBranch visibility archived cloneUrl } } pageInfo { endCursor hasNextPage } } }",
                            json!({}),
                        )
                        .await;
                    reads.fetch_add(1, Ordering::Relaxed);
                    if body.get("errors").is_some() || body["data"]["repositories"].is_null() {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("a read failed: {body}");
                    }
                }
            })
        })
        .collect();

    for group in &groups {
        let body = app
            .graphql(
                Some(&owner.token),
                "mutation($input: CreateGitLabConnectionInput!) { createGitLabConnection(input: $input) { connection { id } userErrors { code message } } }",
                json!({"input": {"groupPath": group, "token": "token-of-the-fake-0001"}}),
            )
            .await;
        assert!(
            body["data"]["createGitLabConnection"]["connection"]["id"].is_string(),
            "{body}"
        );
    }

    let db = app.state.db.clone();
    tests::eventually(
        "every discovery has ended",
        Duration::from_secs(600),
        async || {
            discovery_run::Entity::find()
                .filter(discovery_run::Column::FinishedAt.is_not_null())
                .count(&db)
                .await
                .unwrap_or(0)
                >= GROUPS as u64
        },
    )
    .await;
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }

    let runs = discovery_run::Entity::find().all(&db).await.unwrap();
    for run in &runs {
        assert_eq!(
            run.outcome,
            Some(DiscoveryOutcome::Succeeded),
            "{run:?}\n{}",
            app.logs()
        );
    }
    assert_eq!(
        repository::Entity::find().count(&db).await.unwrap(),
        (GROUPS * REPOS) as u64
    );
    let logs = app.logs();
    for trouble in ["database is locked", "pool timed out", "PoolTimedOut"] {
        assert!(!logs.contains(trouble), "{trouble:?} in the log:\n{logs}");
    }
    assert_eq!(failed_reads.load(Ordering::Relaxed), 0);
    assert!(
        reads.load(Ordering::Relaxed) >= READERS as u64,
        "the readers read"
    );
    eprintln!(
        "{} reads while {} repositories were discovered",
        reads.load(Ordering::Relaxed),
        GROUPS * REPOS
    );
    fake.stop().await;
}
