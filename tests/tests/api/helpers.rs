//! Spawns Tether on a random port, on a thread of its own, over a fresh database (an SQLite file,
//! or a PostgreSQL database beside Redis) and its own queue namespace, and talks GraphQL to it.

use crate::app_logs::{self, AppLogs};
use actix_web::rt::System;
use api::config::{RawSettings, Settings};
use api::startup::Application;
use api::state::AppState;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::thread::JoinHandle;
use uuid::Uuid;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn redis_url() -> String {
    std::env::var("TETHER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub(crate) fn postgres_admin_url() -> String {
    std::env::var("TETHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A running Tether and what the test needs to poke at it.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub backend: Backend,
    pub settings: Settings,
    pub client: reqwest::Client,
    logs: AppLogs,
    running: Option<Running>,
    dir: PathBuf,
    pg_database: Option<String>,
}

/// The thread an app runs on, inside its own actix System.
struct Running {
    system: System,
    thread: JoinHandle<()>,
}

impl Running {
    /// Stops the System (the HTTP workers, the job workers with it) and waits for the thread.
    fn stop(self) {
        self.system.stop();
        let _ = self.thread.join();
        app_logs::forget(&self.system);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The app first, so its database and Redis keys are not pulled from under it.
        if let Some(running) = self.running.take() {
            running.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // Every Redis key this test made (queues, worker sets, rate-limit budgets) starts with
        // its namespace.
        let redis = self
            .settings
            .redis_url
            .clone()
            .map(|url| (url, self.settings.jobs.namespace.clone()));
        let database = self.pg_database.take();
        if redis.is_none() && database.is_none() {
            return;
        }
        // Cleaning up needs async I/O; do it on a thread of its own so Drop stays synchronous.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Some((url, namespace)) = redis {
                    tests::redis_cleanup::forget_namespace(url.as_str(), &namespace).await;
                }
                if let Some(name) = database
                    && let Ok(admin) =
                        Database::connect(format!("{}/postgres", postgres_admin_url())).await
                {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Raw settings for a test: random port, fresh database (created here for PostgreSQL), its own
/// queue namespace, a key file in a temp directory.
pub(crate) async fn test_settings(
    backend: Backend,
    dir: &std::path::Path,
) -> (RawSettings, Option<String>) {
    let mut raw = RawSettings {
        listen: "127.0.0.1:0".into(),
        queue_namespace: format!("t{}", Uuid::new_v4().simple()),
        scheduler_interval_secs: 1,
        key_file: dir.join("tether.key").display().to_string(),
        log_format: "json".into(),
        database_max_connections: Some(4),
        ..RawSettings::default()
    };
    let pg = match backend {
        Backend::Sqlite => {
            raw.database_url = format!("sqlite://{}", dir.join("tether.db").display());
            None
        }
        Backend::Postgres => {
            let name = format!("tether_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {} ({e}). Start it: \
                         pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
                        postgres_admin_url()
                    )
                });
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            raw.database_url = format!("{}/{name}", postgres_admin_url());
            // Production pairs PostgreSQL with Redis queues, under the test's own namespace above.
            raw.redis_url = Some(redis_url());
            Some(name)
        }
    };
    (raw, pg)
}

/// Spawns Tether with default test settings.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Spawns Tether (API, workers and scheduler, as `tether serve`) after `customize` adjusts its
/// settings (provider URLs, limits…).
pub async fn spawn_app_with(backend: Backend, customize: impl FnOnce(&mut RawSettings)) -> TestApp {
    spawn(backend, customize, true).await
}

/// Spawns the API alone (as `tether api`): enqueued jobs wait, so a test can run discoveries itself.
pub async fn spawn_api_only(backend: Backend, customize: impl FnOnce(&mut RawSettings)) -> TestApp {
    spawn(backend, customize, false).await
}

async fn spawn(
    backend: Backend,
    customize: impl FnOnce(&mut RawSettings),
    workers: bool,
) -> TestApp {
    app_logs::init();
    let dir = std::env::temp_dir().join(format!("tether-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut raw, pg_database) = test_settings(backend, &dir).await;
    customize(&mut raw);
    let settings = Settings::from_raw(raw).expect("valid test settings");
    let db = api::db::connect(&settings.database, 1)
        .await
        .expect("the test database opens");
    api::db::migrate(&db).await.expect("migrations apply");
    db.close().await.expect("the migration connection closes");
    let logs = AppLogs::default();
    let (port, state, running) = start(settings.clone(), workers, logs.clone()).await;
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        backend,
        settings,
        client: reqwest::Client::new(),
        logs,
        running: Some(running),
        dir,
        pg_database,
    }
}

/// Builds and runs Tether on a thread of its own, inside an actix System of its own, until
/// `Running::stop`. Every thread doing the app's work then knows its app: the threads of its
/// multi-threaded runtime (job workers, scheduler, blocking pool) are marked as they start, and
/// the HTTP workers are the System's arbiters. That is how `app_logs` tells this app's lines
/// from other tests'.
async fn start(settings: Settings, workers: bool, logs: AppLogs) -> (u16, AppState, Running) {
    let (ready, started) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("tether-app".into())
        .spawn(move || {
            // Multi-threaded like `tether serve`'s runtime: job workers run in parallel here too.
            let marked = logs.clone();
            let runner = System::with_tokio_rt(move || {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .on_thread_start(move || app_logs::mark_thread(marked.clone()))
                    .build()
                    .expect("a runtime for the app")
            });
            let system = System::current();
            app_logs::register(&system, logs);
            let built = runner.block_on(async {
                if workers {
                    Application::build(settings).await
                } else {
                    Application::build_api_only(settings).await
                }
            });
            match built {
                Ok(app) => {
                    let _ = ready.send(Ok((app.port(), app.state().clone(), system)));
                    // Detached: the server runs until `Running::stop` stops the System.
                    drop(runner.runtime().spawn(app.run_until_stopped()));
                    let _ = runner.run();
                }
                Err(e) => {
                    app_logs::forget(&system);
                    let _ = ready.send(Err(e.to_string()));
                }
            }
        })
        .expect("a thread for the app");
    match started
        .await
        .expect("the app's thread reports how it started")
    {
        Ok((port, state, system)) => (port, state, Running { system, thread }),
        Err(e) => panic!("Tether starts (is Redis running on 127.0.0.1:6379?): {e}"),
    }
}

/// A signed-up user: their session token and ids.
pub struct Account {
    pub token: String,
    pub user_id: String,
    pub organization_id: String,
    pub email: String,
}

impl TestApp {
    /// Every line this app logged so far (its startup, HTTP requests and jobs), one JSON object
    /// a line; never another test's.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// POSTs a GraphQL request (application/json) and returns the response body.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches Tether");
        assert_eq!(response.status().as_u16(), 200, "GraphQL answered non-200");
        response.json().await.expect("GraphQL answers JSON")
    }

    /// Signs up a new user with their own organization.
    pub async fn sign_up(&self, email: &str, organization: &str) -> Account {
        let body = self
            .graphql(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) {
                    token user { id email } organization { id } userErrors { field code message } } }",
                json!({"input": {"email": email, "password": "correct horse battery", "organizationName": organization}}),
            )
            .await;
        let payload = &body["data"]["signUp"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        Account {
            token: payload["token"].as_str().unwrap().to_owned(),
            user_id: payload["user"]["id"].as_str().unwrap().to_owned(),
            organization_id: payload["organization"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
        }
    }

    /// Signs up a user with a random email.
    pub async fn owner(&self) -> Account {
        let email = format!("owner-{}@example.com", Uuid::new_v4().simple());
        self.sign_up(&email, "Acme").await
    }
}

/// The first GraphQL error's `extensions.code`.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// Declares a test for each backend: `on_both_backends!(name, …)` runs `async fn name(Backend)`
/// on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}
