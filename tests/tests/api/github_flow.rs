//! The GitHub flow end to end over HTTP, as a user's browser walks it, against the fake code
//! host playing GitHub: link the account, install the app (or request it and have an owner
//! approve), repositories discovered; repositories removed and the app uninstalled through
//! signed webhooks. No GitHub token (`ghu_`, `ghr_`, `ghs_`, `gho_`) in any answer or log line.

use crate::helpers::{Account, Backend, TestApp, spawn_app_with};
use crate::on_both_backends;
use crate::providers::github_app_key;
use entities::{ConnectionStatus, RepositoryState, connection, repository};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::time::Duration;
use tests::eventually;
use tests::fake::{FakeCodeHost, GithubApp, GithubOrg, GithubUser};
use url::Url;

const PUBLIC: &str = "https://tether.example.com";
const FRONTEND: &str = "https://app.example.com/";
const REPOS: usize = 30;

struct World {
    app: TestApp,
    fake: FakeCodeHost,
    /// Every body and Location the browser saw, for the token check.
    seen: std::sync::Mutex<String>,
}

async fn world(backend: Backend) -> World {
    let fake = FakeCodeHost::with_repos(REPOS).await.unwrap();
    let url = fake.url();
    let key = github_app_key();
    // Tether is configured as the fake's default App is registered.
    let registered = GithubApp::default();
    let app = spawn_app_with(backend, move |raw| {
        raw.github_api_url = url.clone();
        raw.github_web_url = url;
        raw.github_app_id = Some(registered.app_id.to_string());
        raw.github_app_private_key = Some(key);
        raw.github_app_slug = Some(registered.slug);
        raw.github_client_id = Some(registered.client_id);
        raw.github_client_secret = Some(registered.client_secret);
        raw.github_webhook_secret = Some(registered.webhook_secret);
        raw.public_url = Some(PUBLIC.into());
        raw.frontend_url = Some(FRONTEND.into());
    })
    .await;
    fake.set_github_app(GithubApp {
        callback_url: Some(format!("{PUBLIC}/auth/github/callback")),
        setup_url: Some(format!("{PUBLIC}/github/setup")),
        // GitHub reaches Tether directly; the browser goes through its public URL.
        webhook_url: Some(format!("{}/webhooks/github", app.address)),
        ..GithubApp::default()
    });
    World {
        app,
        fake,
        seen: std::sync::Mutex::new(String::new()),
    }
}

impl World {
    /// Follows redirects like a browser until it lands on the frontend; Tether's public URL
    /// is where the test reaches the app.
    async fn browse(&self, start: &str, bearer: Option<&str>) -> Url {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut next = start.to_owned();
        for _ in 0..10 {
            if next.starts_with(FRONTEND) {
                return Url::parse(&next).unwrap();
            }
            let target = next.replace(PUBLIC, &self.app.address);
            let mut request = client.get(&target);
            // Only the first hop carries the user's token (`/auth/github/link`).
            if let Some(token) = bearer.filter(|_| next == start) {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            self.seen
                .lock()
                .unwrap()
                .push_str(&format!("{target} {location:?} {body}\n"));
            next = location.unwrap_or_else(|| panic!("{target} answered {status}: {body}"));
        }
        panic!("too many redirects from {start}")
    }

    async fn link(&self, account: &Account) {
        let start = format!("{}/auth/github/link", self.app.address);
        let landed = self.browse(&start, Some(&account.token)).await;
        assert_eq!(landed.query(), Some("github=linked"), "{landed}");
    }

    /// `githubAppInstallUrl`, with the account the user picks on GitHub's page.
    async fn install(&self, account: &Account, target_id: Option<u64>) -> Url {
        let body = self
            .app
            .graphql(Some(&account.token), "{ githubAppInstallUrl }", json!({}))
            .await;
        let mut url = Url::parse(body["data"]["githubAppInstallUrl"].as_str().unwrap()).unwrap();
        if let Some(id) = target_id {
            url.query_pairs_mut()
                .append_pair("target_id", &id.to_string());
        }
        self.browse(url.as_str(), None).await
    }

    async fn connection(&self) -> connection::Model {
        connection::Entity::find()
            .one(&self.app.state.db)
            .await
            .unwrap()
            .expect("a connection")
    }

    async fn repositories(&self, state: RepositoryState) -> u64 {
        repository::Entity::find()
            .filter(repository::Column::State.eq(state))
            .count(&self.app.state.db)
            .await
            .unwrap()
    }

    async fn active_with_all_repositories(&self) {
        eventually(
            "the connection is ACTIVE with its repositories",
            Duration::from_secs(20),
            async || {
                self.connection().await.status == ConnectionStatus::Active
                    && self.repositories(RepositoryState::Active).await == REPOS as u64
            },
        )
        .await;
    }

    fn assert_no_github_token_leaked(&self) {
        let seen = self.seen.lock().unwrap();
        let logs = self.app.logs();
        for prefix in ["ghu_", "ghr_", "ghs_", "gho_"] {
            assert!(
                !seen.contains(prefix),
                "a {prefix} token reached the browser"
            );
            assert!(!logs.contains(prefix), "a {prefix} token was logged");
        }
    }
}

async fn an_owner_links_installs_and_the_installation_is_discovered_then_changed_by_webhooks(
    backend: Backend,
) {
    let world = world(backend).await;
    let owner = world.app.owner().await;
    world.link(&owner).await;
    let landed = world.install(&owner, None).await;
    assert!(
        landed
            .query()
            .is_some_and(|q| q.starts_with("github=installed&connection=")),
        "{landed}"
    );
    world.active_with_all_repositories().await;
    let installation = world.connection().await.installation_id.unwrap() as u64;

    // The owner narrows the installation on GitHub: exactly those repositories go.
    let removed: Vec<String> = ["repo-00001", "repo-00002"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let deliveries = world
        .fake
        .remove_github_repositories(installation, &removed)
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");
    eventually(
        "the removed repositories are GONE",
        Duration::from_secs(10),
        async || world.repositories(RepositoryState::Gone).await == 2,
    )
    .await;
    assert_eq!(
        world.repositories(RepositoryState::Active).await,
        REPOS as u64 - 2
    );

    // Uninstalled: SUSPENDED, everything kept.
    let deliveries = world.fake.uninstall_github(installation).await.unwrap();
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");
    let row = world.connection().await;
    assert_eq!(row.status, ConnectionStatus::Suspended);
    assert_eq!(
        world.repositories(RepositoryState::Active).await
            + world.repositories(RepositoryState::Gone).await,
        REPOS as u64
    );
    world.assert_no_github_token_leaked();
}

async fn a_member_s_request_completes_itself_when_an_owner_approves(backend: Backend) {
    let world = world(backend).await;
    world.fake.add_github_org(GithubOrg {
        login: "acme".into(),
        id: 7000,
        owners: vec!["octocat".into()],
        members: vec!["mona".into()],
    });
    world.fake.set_github_user(GithubUser {
        login: "mona".into(),
        id: 9001,
    });
    let owner = world.app.owner().await;
    world.link(&owner).await;
    let landed = world.install(&owner, Some(7000)).await;
    assert!(
        landed
            .query()
            .is_some_and(|q| q.starts_with("github=requested&connection=")),
        "{landed}"
    );
    let pending = world.connection().await;
    assert_eq!(pending.status, ConnectionStatus::Pending);
    assert!(pending.installation_id.is_none());
    assert!(
        pending
            .status_message
            .as_deref()
            .is_some_and(|m| m.contains("owner")),
        "{pending:?}"
    );

    let deliveries = world.fake.approve_github_request("acme").await.unwrap();
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");
    world.active_with_all_repositories().await;
    let completed = world.connection().await;
    assert!(completed.installation_id.is_some());
    assert_eq!(completed.name, "acme", "named after the approved account");
    world.assert_no_github_token_leaked();
}

async fn an_expiring_user_token_is_refreshed_before_it_is_used(backend: Backend) {
    let world = world(backend).await;
    // GitHub App user tokens expire; these within Tether's one-minute refresh margin.
    world.fake.set_github_token_lifetime(30);
    let owner = world.app.owner().await;
    world.link(&owner).await;
    let sealed_before = entities::linked_account::Entity::find()
        .one(&world.app.state.db)
        .await
        .unwrap()
        .unwrap()
        .refresh_token;
    let exchanges = || {
        world
            .fake
            .stats()
            .by_endpoint
            .get("github.access_token_oauth")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(exchanges(), 1, "the code exchange");
    // Installing reads the user's installations with their token: refreshed first.
    let landed = world.install(&owner, None).await;
    assert!(
        landed
            .query()
            .is_some_and(|q| q.starts_with("github=installed")),
        "{landed}"
    );
    assert_eq!(exchanges(), 2, "one refresh");
    let account = entities::linked_account::Entity::find()
        .one(&world.app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        account.refresh_token, sealed_before,
        "the rotated refresh token is stored"
    );
    world.assert_no_github_token_leaked();
}

on_both_backends!(
    an_expiring_user_token_is_refreshed_before_it_is_used,
    an_owner_links_installs_and_the_installation_is_discovered_then_changed_by_webhooks,
    a_member_s_request_completes_itself_when_an_owner_approves,
);
