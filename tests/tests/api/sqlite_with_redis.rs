//! SQLite with the job queues in Redis: the database is still embedded, so the process that opens
//! it migrates it. "No Redis" and "SQLite" are separate choices; these tests start from an empty
//! SQLite file, which the shared helpers never do (they migrate first).

use api::config::{RawSettings, Settings};
use api::startup::{Application, StartupError};
use serde_json::{Value, json};
use std::future::Future;
use std::path::PathBuf;
use uuid::Uuid;

/// A temporary directory and a Redis namespace, both forgotten when the test ends.
struct Scratch {
    dir: PathBuf,
    redis_url: String,
    namespace: String,
}

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tether-test-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            redis_url: std::env::var("TETHER_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            namespace: format!("t{}", Uuid::new_v4().simple()),
        }
    }

    /// Settings for an empty SQLite file whose queues and rate-limit budgets live in Redis.
    fn settings(&self) -> Settings {
        let settings = Settings::from_raw(RawSettings {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}", self.dir.join("tether.db").display()),
            redis_url: Some(self.redis_url.clone()),
            queue_namespace: self.namespace.clone(),
            key_file: self.dir.join("tether.key").display().to_string(),
            scheduler_interval_secs: 1,
            ..RawSettings::default()
        })
        .expect("valid settings");
        assert!(settings.uses_sqlite() && settings.uses_redis());
        settings
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let (url, namespace) = (self.redis_url.clone(), self.namespace.clone());
        // Forgetting the namespace needs async I/O; a thread of its own keeps Drop synchronous.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(tests::redis_cleanup::forget_namespace(&url, &namespace));
            }
        })
        .join();
    }
}

async fn graphql(address: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request reaches Tether");
    response.json().await.expect("GraphQL answers JSON")
}

/// Starts Tether with `start` over an empty SQLite file, then signs up and lists connections and
/// repositories: between them they need the tables of every migration.
async fn an_empty_sqlite_file_is_migrated_by<F, Fut>(start: F)
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<Application, StartupError>>,
{
    let scratch = Scratch::new();
    let app = start(scratch.settings())
        .await
        .unwrap_or_else(|e| panic!("Tether starts (is Redis running on 127.0.0.1:6379?): {e}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let signed_up = graphql(
        &address,
        None,
        "mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { code } } }",
        json!({"input": {"email": "ada@example.com", "password": "correct horse battery",
                         "organizationName": "Analytical"}}),
    )
    .await;
    assert_eq!(signed_up["errors"], Value::Null, "{signed_up}");
    assert_eq!(signed_up["data"]["signUp"]["userErrors"], json!([]));
    let token = signed_up["data"]["signUp"]["token"].as_str().unwrap();

    let listed = graphql(
        &address,
        Some(token),
        "{ connections { totalCount } repositories { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["errors"], Value::Null, "{listed}");
    assert_eq!(
        listed["data"],
        json!({"connections": {"totalCount": 0}, "repositories": {"totalCount": 0}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrates_an_sqlite_database_whose_queues_are_in_redis() {
    an_empty_sqlite_file_is_migrated_by(Application::build).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_alone_migrates_an_sqlite_database_whose_queues_are_in_redis() {
    an_empty_sqlite_file_is_migrated_by(Application::build_api_only).await;
}
