//! A self-managed provider is chosen by the user, so its answers are untrusted: each bound
//! Tether keeps on them, against the fake code host answering in that hostile way. A body past
//! the cap, a page count the data does not bear out and rate-limit headers no clock can honour
//! each end the run (`PARTIAL` or `FAILED`, with an issue) instead of holding the connection;
//! URLs a browser must not follow are not stored. (The run deadline has its own test in
//! `discovery_robustness`.)

use crate::fixtures::{self, discover, rows};
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use entities::{ConnectionStatus, DiscoveryOutcome, connection, discovery_run};
use jobs::discovery::RunReport;
use sea_orm::EntityTrait;
use serde_json::Value;
use tests::fake::{FakeCodeHost, Hostile, HostileAnswer};

const GROUP: &str = "self-managed/platform";
/// Two pages of 100.
const REPOS: usize = 150;
const TOKEN: &str = "token-of-the-fake-0001";

async fn setup(
    backend: Backend,
    customize: impl FnOnce(&mut api::config::RawSettings) + Send + 'static,
) -> (TestApp, FakeCodeHost, connection::Model) {
    let fake = FakeCodeHost::with_repos(REPOS).await.unwrap();
    let url = fake.url();
    let app = spawn_api_only(backend, move |raw| {
        raw.gitlab_url = url;
        customize(raw);
    })
    .await;
    let owner = app.owner().await;
    let (_, conn) = fixtures::connect_gitlab(&app, &owner.token, GROUP, TOKEN).await;
    (app, fake, conn)
}

fn hostile(path_contains: &str, answer: HostileAnswer) -> Hostile {
    Hostile {
        path_contains: path_contains.into(),
        answer,
    }
}

/// The run's issues, as stored.
async fn issues(app: &TestApp, report: &RunReport) -> Vec<Value> {
    let run = discovery_run::Entity::find_by_id(report.run_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    run.issues.as_array().cloned().unwrap_or_default()
}

async fn status(app: &TestApp, conn: &connection::Model) -> ConnectionStatus {
    connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn a_body_past_the_cap_ends_the_run_partial_naming_the_endpoint(backend: Backend) {
    let (app, fake, conn) = setup(backend, |raw| {
        raw.provider_max_body_bytes = 1024 * 1024;
    })
    .await;
    // The second page never ends: 1 GiB, sent as it is made, with no length announced.
    fake.set_hostile(hostile(
        "page=2",
        HostileAnswer::EndlessBody {
            bytes: 1024 * 1024 * 1024,
        },
    ));
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Partial, "{report:?}");
    assert_eq!(
        (report.counters.added, report.counters.gone),
        (100, 0),
        "the first page is kept, nothing is gone"
    );
    let issues = issues(&app, &report).await;
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["code"], "RESPONSE_TOO_LARGE");
    let message = issues[0]["message"].as_str().unwrap();
    assert!(
        message.contains("/api/v4/groups/") && message.contains("/projects"),
        "names the endpoint: {message}"
    );
    assert!(message.contains("larger than 1 MiB"), "{message}");
    assert!(
        !message.contains("page=") && !message.contains(TOKEN),
        "{message}"
    );
    assert_eq!(status(&app, &conn).await, ConnectionStatus::Degraded);
    fake.stop().await;
}

async fn a_page_count_the_data_does_not_bear_out_ends_the_listing(backend: Backend) {
    let (app, fake, conn) = setup(backend, |_| {}).await;
    // Fifty thousand pages announced, two of them real: the listing stops at the first empty
    // one, keeps both real pages, and marks nothing gone (it was inconsistent).
    fake.set_hostile(hostile(
        "/projects",
        HostileAnswer::ClaimedPages { pages: 50_000 },
    ));
    fake.reset_stats();
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Partial, "{report:?}");
    assert_eq!((report.counters.added, report.counters.gone), (150, 0));
    let requests = fake.stats().by_endpoint["gitlab.projects"];
    assert!(
        requests <= 10,
        "50,000 pages announced, {requests} requested"
    );
    let issues = issues(&app, &report).await;
    assert_eq!(issues[0]["code"], "PROVIDER_ERROR", "{issues:?}");
    assert!(
        issues[0]["message"].as_str().unwrap().contains("is empty"),
        "{issues:?}"
    );
    assert_eq!(status(&app, &conn).await, ConnectionStatus::Degraded);

    // A hundred million pages (the case that once held every GitLab worker): not believed at
    // all, past the first page.
    fake.clear_hostile();
    fake.set_hostile(hostile(
        "/projects",
        HostileAnswer::ClaimedPages { pages: 100_000_000 },
    ));
    fake.reset_stats();
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Partial, "{report:?}");
    assert_eq!(report.counters.gone, 0);
    assert_eq!(fake.stats().by_endpoint["gitlab.projects"], 1);
    assert_eq!(status(&app, &conn).await, ConnectionStatus::Degraded);
    fake.stop().await;
}

async fn rate_limit_headers_no_clock_can_honour_end_the_run_without_a_panic(backend: Backend) {
    let (app, fake, conn) = setup(backend, |_| {}).await;
    let cases: [&[(&str, &str)]; 5] = [
        &[("Retry-After", "1e20")],
        &[("Retry-After", "NaN"), ("RateLimit-Remaining", "0")],
        &[
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", "99999999999999999999"),
        ],
        &[
            ("RateLimit-Remaining", "-3"),
            ("RateLimit-Reset", "-99999999999"),
            ("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ],
        &[
            ("Retry-After", "-1.5"),
            ("RateLimit-ResetTime", "Mon, 01 Jan 0001 00:00:00 GMT"),
        ],
    ];
    for headers in cases {
        fake.clear_hostile();
        fake.set_hostile(hostile(
            "/projects",
            HostileAnswer::RateLimited {
                headers: headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
            },
        ));
        let started = chrono::Utc::now();
        let report = discover(&app, &conn).await;
        let took = chrono::Utc::now() - started;
        assert!(
            matches!(
                report.outcome,
                DiscoveryOutcome::Failed | DiscoveryOutcome::Partial
            ),
            "{headers:?}: {report:?}"
        );
        assert!(
            took < chrono::Duration::seconds(60),
            "{headers:?}: the run held on for {took}"
        );
        // Back within a day at most, never in the past.
        let wait = report.next_at - chrono::Utc::now();
        assert!(
            wait > chrono::Duration::zero() && wait <= chrono::Duration::hours(25),
            "{headers:?}: next discovery in {wait}"
        );
        assert_ne!(status(&app, &conn).await, ConnectionStatus::Syncing);
    }
    fake.stop().await;
}

async fn urls_a_browser_must_not_follow_are_not_stored(backend: Backend) {
    let (app, fake, conn) = setup(backend, |_| {}).await;
    fake.set_hostile(hostile("/projects", HostileAnswer::UnsafeUrls));
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Succeeded, "{report:?}");
    let rows = rows(&app, &conn).await;
    assert_eq!(rows.len(), REPOS);
    for row in &rows {
        assert_eq!((&row.web_url, &row.clone_url), (&None, &None), "{row:?}");
    }
    fake.stop().await;
}

on_both_backends!(
    a_body_past_the_cap_ends_the_run_partial_naming_the_endpoint,
    a_page_count_the_data_does_not_bear_out_ends_the_listing,
    rate_limit_headers_no_clock_can_honour_end_the_run_without_a_panic,
    urls_a_browser_must_not_follow_are_not_stored,
);
