//! Every provider against the fake code host: create → repositories with their metadata; a
//! rename upstream renames the same row; a removal is GONE after a complete run; a 5xx burst is
//! retried; a 429 mid-listing marks nothing gone and reschedules; a revoked token makes the
//! connection UNAUTHORIZED and keeps its repositories.

use crate::connections_github::link_github;
use crate::fixtures::{self, discover, rows};
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use crate::providers::github_app_key;
use entities::{ConnectionStatus, DiscoveryOutcome, RepositoryState, connection, repository};
use sea_orm::EntityTrait;
use serde_json::json;
use tests::fake::{FakeCodeHost, Fault, Provider, Target};

const REPOS: usize = 150;

#[derive(Clone, Copy, Debug)]
enum Kind {
    GitLab,
    Bitbucket,
    Azure,
    GitHub,
}

impl Kind {
    fn fake(self) -> Provider {
        match self {
            Kind::GitLab => Provider::Gitlab,
            Kind::Bitbucket => Provider::Bitbucket,
            Kind::Azure => Provider::Azure,
            Kind::GitHub => Provider::Github,
        }
    }

    /// (mutation, input) creating a connection to `scope` with `token`.
    fn create(self, scope: &str, token: &str) -> (&'static str, serde_json::Value) {
        match self {
            Kind::GitLab => (
                "createGitLabConnection",
                json!({"groupPath": scope, "token": token}),
            ),
            Kind::Bitbucket => (
                "createBitbucketConnection",
                json!({"workspaceId": scope, "token": token}),
            ),
            Kind::Azure => (
                "createAzureDevOpsConnection",
                json!({"organizationUrl": format!("https://dev.azure.com/{scope}"), "token": token}),
            ),
            Kind::GitHub => ("createGitHubConnection", json!({"installationId": scope})),
        }
    }

    /// Text in the URL of the second page of the listing (Azure lists in one request).
    fn mid_listing(self) -> &'static str {
        match self {
            Kind::Azure => "_apis/git/repositories",
            Kind::GitHub => "/installation/repositories?per_page=100&page=2",
            _ => "page=2",
        }
    }
}

async fn setup(backend: Backend) -> (TestApp, FakeCodeHost, String) {
    let fake = FakeCodeHost::with_repos(REPOS).await.unwrap();
    let url = fake.url();
    let key = github_app_key();
    let app = spawn_api_only(backend, move |raw| {
        raw.gitlab_url = url.clone();
        raw.bitbucket_api_url = url.clone();
        raw.azure_devops_url = Some(url.clone());
        raw.github_api_url = url;
        raw.github_app_id = Some("1".into());
        raw.github_app_private_key = Some(key);
    })
    .await;
    let owner = app.owner().await;
    link_github(&app, &owner).await;
    (app, fake, owner.token)
}

async fn connect(
    app: &TestApp,
    session: &str,
    kind: Kind,
    scope: &str,
    token: &str,
) -> connection::Model {
    let (mutation, input) = kind.create(scope, token);
    let query = format!(
        "mutation($input: {}Input!) {{ {mutation}(input: $input) {{ connection {{ id }} userErrors {{ code message }} }} }}",
        mutation[..1].to_uppercase() + &mutation[1..]
    );
    let body = app
        .graphql(Some(session), &query, json!({"input": input}))
        .await;
    let id = body["data"][mutation]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{kind:?}: {body}"));
    fixtures::connection_row(&app.state.db, id).await
}

async fn each_provider_discovers_renames_removes_retries_and_reschedules(backend: Backend) {
    let (app, fake, session) = setup(backend).await;
    for (kind, scope) in [
        (Kind::GitLab, "fake/group"),
        (Kind::Bitbucket, "fakews"),
        (Kind::Azure, "fakeorg"),
        (Kind::GitHub, "7"),
    ] {
        fake.set_repos(kind.fake(), scope, REPOS);
        let conn = connect(&app, &session, kind, scope, "token-of-the-fake-0001").await;

        let first = discover(&app, &conn).await;
        assert_eq!(
            (first.outcome, first.counters.added),
            (DiscoveryOutcome::Succeeded, REPOS as i64),
            "{kind:?}"
        );
        let listed = rows(&app, &conn).await;
        assert_eq!(listed.len(), REPOS, "{kind:?}");
        // Every 25th of the fake's repositories is archived and another 25th disabled, where
        // the provider has such a flag: Azure has no archive, GitLab and Bitbucket no disabled.
        let count =
            |flag: fn(&repository::Model) -> bool| listed.iter().filter(|r| flag(r)).count();
        let (archived, disabled) = match kind {
            Kind::GitLab => (REPOS / 25, 0),
            Kind::Bitbucket => (0, 0),
            Kind::Azure => (0, REPOS / 25),
            Kind::GitHub => (REPOS / 25, REPOS / 25),
        };
        assert_eq!(
            (count(|r| r.archived), count(|r| r.disabled)),
            (archived, disabled),
            "{kind:?}: archived and disabled"
        );
        // Clone URLs keep the scheme the provider gave (the fake's GitLab is plain http on loopback)
        // and never carry a user name.
        assert!(
            listed.iter().all(|r| r
                .clone_url
                .as_deref()
                .is_some_and(|u| u.starts_with("http") && !u.contains('@'))),
            "{kind:?}: {:?}",
            listed[0].clone_url
        );
        assert!(
            listed
                .iter()
                .all(|r| r.default_branch.as_deref() == Some("main")),
            "{kind:?}"
        );

        // Renamed upstream: the same row, renamed.
        let upstream = fake.repos(kind.fake(), scope);
        let victim = listed
            .iter()
            .find(|r| r.name == upstream[0].name)
            .unwrap_or_else(|| panic!("{kind:?}: {}", upstream[0].name))
            .clone();
        fake.rename(kind.fake(), scope, Target::Index(0), "renamed-upstream")
            .unwrap();
        let renamed = discover(&app, &conn).await;
        assert_eq!(renamed.counters.updated, 1, "{kind:?} {renamed:?}");
        let row = repository::Entity::find_by_id(victim.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.name, "renamed-upstream", "{kind:?}");
        assert_eq!(row.external_id, victim.external_id);

        // Removed upstream: GONE after a complete run.
        let removed = fake.remove(kind.fake(), scope, Target::Index(1)).unwrap();
        let after_removal = discover(&app, &conn).await;
        assert_eq!(after_removal.counters.gone, 1, "{kind:?}");
        let gone = rows(&app, &conn)
            .await
            .into_iter()
            .filter(|r| r.state == RepositoryState::Gone)
            .collect::<Vec<_>>();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].name, removed.name, "{kind:?}");

        // A burst of 5xx is retried: both were served, and the run still saw every repository.
        fake.reset_stats();
        fake.inject_fault(Fault {
            path_contains: kind.mid_listing().into(),
            status: 502,
            count: 2,
            retry_after: None,
        });
        let retried = discover(&app, &conn).await;
        assert_eq!(fake.stats().faults_served, 2, "{kind:?}: the 502s fired");
        assert_eq!(
            (retried.outcome, retried.counters.gone),
            (DiscoveryOutcome::Succeeded, 0),
            "{kind:?} {retried:?}"
        );

        // A 429 in the middle of the listing: nothing gone, due again at the reset.
        fake.reset_stats();
        fake.inject_fault(Fault {
            path_contains: kind.mid_listing().into(),
            status: 429,
            count: 1,
            retry_after: Some(600),
        });
        let limited = discover(&app, &conn).await;
        assert_eq!(fake.stats().faults_served, 1, "{kind:?}: the 429 fired");
        assert_eq!(
            (limited.outcome, limited.counters.gone),
            (DiscoveryOutcome::Partial, 0),
            "{kind:?}"
        );
        assert!(
            limited.next_at > chrono::Utc::now() + chrono::Duration::seconds(500),
            "{kind:?}"
        );
        let active = rows(&app, &conn)
            .await
            .iter()
            .filter(|r| r.state == RepositoryState::Active)
            .count();
        assert_eq!(
            active,
            REPOS - 1,
            "{kind:?}: a cut-short run marks nothing gone"
        );
        let status = connection::Entity::find_by_id(conn.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .status;
        assert_eq!(status, ConnectionStatus::Degraded, "{kind:?}");
    }
}

async fn a_revoked_token_makes_the_connection_unauthorized_and_keeps_repositories(
    backend: Backend,
) {
    let (app, fake, session) = setup(backend).await;
    for (kind, scope) in [
        (Kind::GitLab, "revoked/group"),
        (Kind::Bitbucket, "revokedws"),
        (Kind::Azure, "revokedorg"),
    ] {
        let token = format!("token-to-revoke-{scope}");
        let conn = connect(&app, &session, kind, scope, &token).await;
        assert_eq!(discover(&app, &conn).await.counters.added, REPOS as i64);
        fake.revoke_token(&token);
        let report = discover(&app, &conn).await;
        assert_eq!(report.outcome, DiscoveryOutcome::Failed, "{kind:?}");
        let now = connection::Entity::find_by_id(conn.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.status, ConnectionStatus::Unauthorized, "{kind:?}");
        assert!(now.status_message.is_some_and(|m| !m.is_empty()));
        assert!(
            rows(&app, &conn)
                .await
                .iter()
                .all(|r| r.state == RepositoryState::Active),
            "{kind:?}"
        );
    }
}

/// Past 10,000 projects GitLab sends no totals: the pages are fetched ahead anyway, every
/// project is listed once, and fewer than eight requests go past the end.
async fn a_gitlab_group_too_big_to_count_is_listed_whole(backend: Backend) {
    let (app, fake, session) = setup(backend).await;
    let repos = 10_050;
    fake.set_repos(Provider::Gitlab, "big/group", repos);
    let conn = connect(
        &app,
        &session,
        Kind::GitLab,
        "big/group",
        "token-of-the-fake-0001",
    )
    .await;
    fake.reset_stats();
    let report = discover(&app, &conn).await;
    assert_eq!(report.outcome, DiscoveryOutcome::Succeeded, "{report:?}");
    assert_eq!(report.counters.added, repos as i64);
    let requests = fake.stats().by_endpoint["gitlab.projects"];
    let pages = repos.div_ceil(100) as u64;
    assert!(
        (pages..pages + 8).contains(&requests),
        "{requests} requests for {pages} pages"
    );
}

on_both_backends!(
    a_gitlab_group_too_big_to_count_is_listed_whole,
    each_provider_discovers_renames_removes_retries_and_reschedules,
    a_revoked_token_makes_the_connection_unauthorized_and_keeps_repositories,
    each_provider_s_refresh_with_unchanged_etags_writes_nothing,
    a_refresh_of_a_large_connection_checks_every_repository_once,
    azure_without_the_organization_listing_goes_project_by_project,
);

async fn each_provider_s_refresh_with_unchanged_etags_writes_nothing(backend: Backend) {
    let (app, fake, session) = setup(backend).await;
    for (kind, scope) in [
        (Kind::GitLab, "etag/group"),
        (Kind::Bitbucket, "etagws"),
        (Kind::Azure, "etagorg"),
        (Kind::GitHub, "9"),
    ] {
        fake.set_repos(kind.fake(), scope, 20);
        let conn = connect(&app, &session, kind, scope, "token-of-the-fake-0002").await;
        discover(&app, &conn).await;

        let first = app.state.discovery.refresh(conn.id).await.unwrap();
        // A disabled repository (the fake's 13th of 20, on Azure and GitHub) is not asked.
        let readable = match kind {
            Kind::Azure | Kind::GitHub => 19,
            Kind::GitLab | Kind::Bitbucket => 20,
        };
        assert_eq!(
            (first.checked, first.changed, first.stopped.as_deref()),
            (readable, readable, None),
            "{kind:?} {first:?}"
        );
        let before = rows(&app, &conn).await;
        let upstream = fake.repos(kind.fake(), scope);
        for row in &before {
            let remote = upstream.iter().find(|r| r.name == row.name).unwrap();
            let expected = (!row.disabled).then_some(remote.head.as_str());
            assert_eq!(row.head_commit_sha.as_deref(), expected, "{kind:?}");
        }

        let second = app.state.discovery.refresh(conn.id).await.unwrap();
        assert_eq!(
            (second.checked, second.changed, second.not_modified),
            (readable, 0, readable),
            "{kind:?} {second:?}"
        );
        let after = rows(&app, &conn).await;
        for row in &before {
            let same = after.iter().find(|r| r.id == row.id).unwrap();
            assert_eq!(
                (&same.refreshed_at, &same.etag),
                (&row.refreshed_at, &row.etag),
                "{kind:?}: a 304 writes nothing"
            );
        }

        // A push upstream changes exactly that row.
        let pushed = fake.push(kind.fake(), scope, Target::Index(3)).unwrap();
        let third = app.state.discovery.refresh(conn.id).await.unwrap();
        assert_eq!(
            (third.changed, third.not_modified),
            (1, readable - 1),
            "{kind:?} {third:?}"
        );
        let row = rows(&app, &conn)
            .await
            .into_iter()
            .find(|r| r.name == pushed.name)
            .unwrap();
        assert_eq!(
            row.head_commit_sha.as_deref(),
            Some(pushed.head.as_str()),
            "{kind:?}"
        );
    }
}

async fn a_refresh_of_a_large_connection_checks_every_repository_once(backend: Backend) {
    let (app, fake, session) = setup(backend).await;
    // More than two of the refresh's chunks, the last one partial.
    fake.set_repos(Provider::Gitlab, "large/group", 1_100);
    let conn = connect(
        &app,
        &session,
        Kind::GitLab,
        "large/group",
        "token-of-the-fake-0003",
    )
    .await;
    assert_eq!(discover(&app, &conn).await.counters.added, 1_100);
    fake.reset_stats();
    let report = app.state.discovery.refresh(conn.id).await.unwrap();
    assert_eq!(
        (report.checked, report.changed, report.stopped),
        (1_100, 1_100, None)
    );
    assert_eq!(
        fake.stats().by_endpoint.get("gitlab.branch").copied(),
        Some(1_100)
    );
    assert!(
        rows(&app, &conn)
            .await
            .iter()
            .all(|r| r.head_commit_sha.is_some())
    );
}

async fn azure_without_the_organization_listing_goes_project_by_project(backend: Backend) {
    let (app, fake, session) = setup(backend).await;
    // 102 projects of 50: two pages of the project list, joined by a continuation token.
    let repos = 5_100;
    fake.set_repos(Provider::Azure, "projectwise", repos);
    let conn = connect(
        &app,
        &session,
        Kind::Azure,
        "projectwise",
        "token-of-the-fake-0004",
    )
    .await;
    fake.inject_fault(Fault {
        path_contains: "/projectwise/_apis/git/repositories?".into(),
        status: 404,
        count: 1,
        retry_after: None,
    });
    fake.reset_stats();
    let report = discover(&app, &conn).await;
    assert_eq!(
        (report.outcome, report.counters.added),
        (DiscoveryOutcome::Succeeded, repos as i64),
        "{report:?}"
    );
    let stats = fake.stats();
    assert_eq!(
        stats.faults_served, 1,
        "the organization listing was refused"
    );
    let by_endpoint = stats.by_endpoint;
    assert_eq!(
        by_endpoint.get("azure.projects").copied(),
        Some(2),
        "{by_endpoint:?}"
    );
    assert_eq!(
        by_endpoint.get("azure.repositories").copied(),
        Some(1 + 102),
        "{by_endpoint:?}"
    );
    let listed = rows(&app, &conn).await;
    assert_eq!(listed.len(), repos);
    let projects: std::collections::HashSet<&str> = listed
        .iter()
        .filter_map(|r| r.full_name.split_once('/').map(|(p, _)| p))
        .collect();
    assert_eq!(
        projects.len(),
        102,
        "each repository keeps its project in its full name"
    );
}
