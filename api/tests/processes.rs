//! Real `tether worker` processes sharing one Redis and one PostgreSQL: two workers never run
//! one connection's discovery at once, and a job whose worker is killed mid-run is picked up
//! again with no duplicate repositories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::config::{RawSettings, Settings};
use api::startup::Application;
use entities::{DiscoveryOutcome, connection, discovery_run, repository};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tests::eventually;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "glpat-ProcessTestToken0001";
const PAGES: usize = 4;

struct Shared {
    database_url: String,
    redis_url: String,
    namespace: String,
    keys: String,
    gitlab: MockServer,
    database: String,
}

impl Shared {
    async fn new(page_delay: Duration) -> Self {
        let admin_url = std::env::var("TETHER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let database = format!("tether_proc_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(format!("{admin_url}/postgres"))
            .await
            .expect("PostgreSQL is running");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{database}\""))
            .await
            .unwrap();
        let gitlab = MockServer::start().await;
        fake_gitlab(&gitlab, page_delay).await;
        let keys = entities::Keyring::generate_entry(&entities::KeyId::parse("k1").unwrap())
            .expose_secret()
            .to_owned();
        Self {
            database_url: format!("{admin_url}/{database}"),
            redis_url: std::env::var("TETHER_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            namespace: format!("p{}", uuid::Uuid::new_v4().simple()),
            keys,
            gitlab,
            database,
        }
    }

    fn raw(&self) -> RawSettings {
        RawSettings {
            listen: "127.0.0.1:0".into(),
            database_url: self.database_url.clone(),
            redis_url: Some(self.redis_url.clone()),
            queue_namespace: self.namespace.clone(),
            encryption_keys: Some(self.keys.clone()),
            gitlab_url: self.gitlab.uri(),
            scheduler_interval_secs: 1,
            ..RawSettings::default()
        }
    }

    fn worker(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_tether"))
            .arg("worker")
            .env("TETHER_DATABASE_URL", &self.database_url)
            .env("TETHER_REDIS_URL", &self.redis_url)
            .env("TETHER_QUEUE_NAMESPACE", &self.namespace)
            .env("TETHER_ENCRYPTION_KEYS", &self.keys)
            .env("TETHER_GITLAB_URL", self.gitlab.uri())
            .env("TETHER_SCHEDULER_INTERVAL_SECS", "1")
            .env("TETHER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the tether binary starts")
    }

    /// The API alone, in this process: sign up and create the connection.
    async fn connect(&self) -> (sea_orm::DatabaseConnection, uuid::Uuid, String, String) {
        let api = self.api().await;
        (api.db, api.conn_id, api.token, api.id)
    }

    /// The API alone, in this process, with a signed-up owner and the connection created.
    async fn api(&self) -> Api {
        let settings = Settings::from_raw(self.raw()).unwrap();
        let db = api::db::connect(&settings.database, 4).await.unwrap();
        api::db::migrate(&db).await.unwrap();
        let app = Application::build_api_only(settings).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let base = format!("{address}/graphql");
        let events = app.state().events.clone();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let post = |token: Option<String>, query: &str, variables: Value| {
            let mut request = client
                .post(&base)
                .json(&json!({"query": query, "variables": variables}));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let signed = post(None, "mutation { signUp(input: {email: \"ops@example.com\", password: \"correct horse battery\", organizationName: \"Ops\"}) { token } }", json!({})).await;
        let token = signed["data"]["signUp"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let created = post(
            Some(token.clone()),
            "mutation($t: String!) { createGitLabConnection(input: {groupPath: \"ghost/mygroup\", token: $t}) { connection { id } userErrors { message } } }",
            json!({"t": TOKEN}),
        )
        .await;
        let id = created["data"]["createGitLabConnection"]["connection"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned();
        let conn = connection::Entity::find().one(&db).await.unwrap().unwrap();
        Api {
            db,
            conn_id: conn.id,
            token,
            id,
            address,
            events,
        }
    }
}

/// A running `tether api` in this process.
struct Api {
    db: sea_orm::DatabaseConnection,
    conn_id: uuid::Uuid,
    token: String,
    id: String,
    address: String,
    events: jobs::EventBus,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let (admin_url, database) = (
            self.database_url
                .rsplit_once('/')
                .map(|(a, _)| a.to_owned())
                .unwrap_or_default(),
            self.database.clone(),
        );
        let (redis_url, namespace) = (self.redis_url.clone(), self.namespace.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(format!("{admin_url}/postgres")).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                        ))
                        .await;
                }
                // The queues, worker sets and budgets of this test all start with its namespace.
                tests::redis_cleanup::forget_namespace(&redis_url, &namespace).await;
            });
        })
        .join();
    }
}

async fn fake_gitlab(server: &MockServer, page_delay: Duration) {
    Mock::given(method("GET"))
        .and(path("/api/v4/personal_access_tokens/self"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"scopes": ["read_api", "read_repository"], "active": true, "revoked": false, "user_id": 5, "expires_at": null})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/ghost%2Fmygroup"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 9, "full_path": "ghost/mygroup", "full_name": "ghost / mygroup"}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/9/members/all/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_level": 30})))
        .mount(server)
        .await;
    for page in 1..=PAGES {
        let projects: Vec<Value> = (1..=100)
            .map(|i| {
                let id = (page - 1) * 100 + i;
                json!({"id": id, "name": format!("r{id}"), "path_with_namespace": format!("ghost/mygroup/r{id}"), "default_branch": "main", "visibility": "private"})
            })
            .collect();
        Mock::given(method("GET"))
            .and(path("/api/v4/groups/ghost%2Fmygroup/projects"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(projects)
                    .insert_header("x-total-pages", PAGES.to_string().as_str())
                    .set_delay(page_delay),
            )
            .mount(server)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_never_run_one_connections_discovery_at_once() {
    let shared = Shared::new(Duration::from_millis(400)).await;
    let mut workers = [shared.worker(), shared.worker()];
    let (db, _, _, _) = shared.connect().await;
    // Ask for more discoveries while the first one runs: they land on either worker.
    let settings = Settings::from_raw(shared.raw()).unwrap();
    let state = api::startup::build_state(&settings, false).await.unwrap();
    let conn = connection::Entity::find().one(&db).await.unwrap().unwrap();
    // A request every 300 ms for 6 s: some arrive while a run holds the connection (and must
    // not start a second one), others after it finished (and start the next one). The interval
    // paces the load; nothing is awaited here.
    let mut every = tokio::time::interval(Duration::from_millis(300));
    for _ in 0..20 {
        every.tick().await;
        state
            .queues
            .discover(conn.provider, conn.id, jobs::queue::Trigger::Manual, None)
            .await
            .unwrap();
    }
    eventually("every run to finish", Duration::from_secs(60), async || {
        let runs = discovery_run::Entity::find().all(&db).await.unwrap();
        runs.len() >= 2 && runs.iter().all(|r| r.finished_at.is_some())
    })
    .await;
    // A request still queued may start one more run before the kill; holding the lease, it is
    // the latest run, so it is the only one the kill can leave unfinished.
    for worker in &mut workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    let mut runs: Vec<_> = discovery_run::Entity::find().all(&db).await.unwrap();
    runs.sort_by_key(|r| r.started_at);
    for pair in runs.windows(2) {
        let first_end = pair[0]
            .finished_at
            .expect("every run but the latest finished");
        assert!(
            pair[1].started_at >= first_end,
            "runs overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(
        repository::Entity::find().count(&db).await.unwrap(),
        (PAGES * 100) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_discovery_is_picked_up_again_without_duplicates() {
    let shared = Shared::new(Duration::from_secs(3)).await;
    let mut first = shared.worker();
    let (db, conn_id, _, _) = shared.connect().await;
    // Killed once the first page is written and while the next three (3 s each) are on the
    // way: the run that takes over meets rows it must not write twice.
    eventually(
        "the first run to write its first page",
        Duration::from_secs(30),
        async || repository::Entity::find().count(&db).await.unwrap() > 0,
    )
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let written_before = repository::Entity::find().count(&db).await.unwrap();
    assert!(
        written_before < (PAGES * 100) as u64,
        "killed mid-run ({written_before} written)"
    );

    let mut second = shared.worker();
    eventually(
        "a successful run after the crash",
        Duration::from_secs(120),
        async || {
            discovery_run::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .iter()
                .any(|r| r.outcome == Some(DiscoveryOutcome::Succeeded))
        },
    )
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(
        repository::Entity::find().count(&db).await.unwrap(),
        (PAGES * 100) as u64,
        "no duplicates, none lost"
    );
    let runs = discovery_run::Entity::find().all(&db).await.unwrap();
    let lost = runs
        .iter()
        .find(|r| r.outcome == Some(DiscoveryOutcome::Failed))
        .expect("the crashed run is closed");
    assert_eq!(lost.issues[0]["code"], "WORKER_LOST");
    let conn = connection::Entity::find_by_id(conn_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.status, entities::ConnectionStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_s_discovery_reaches_the_api_s_subscribers_through_redis() {
    use tests::ws::{WsClient, WsProtocol};
    let shared = Shared::new(Duration::from_millis(100)).await;
    let api = shared.api().await;
    let wait = Duration::from_secs(60);
    let mut client = WsClient::open(&api.address, WsProtocol::TransportWs).await;
    let ack = client
        .init(json!({"authorization": format!("Bearer {}", api.token)}))
        .await
        .unwrap();
    assert_eq!(ack["type"], "connection_ack");
    client
        .subscribe(
            "status",
            "subscription($id: ID) { connectionUpdated(id: $id) { status } }",
            json!({"id": api.id}),
        )
        .await;
    client
        .subscribe("progress", "subscription($id: ID!) { discoveryProgress(connectionId: $id) { added finished outcome } }", json!({"id": api.id}))
        .await;
    client
        .subscribe(
            "repos",
            "subscription($id: ID) { repositoryEvents(connectionId: $id) { kind fullName } }",
            json!({"id": api.id}),
        )
        .await;
    let events = api.events.clone();
    eventually(
        "the API listens to Redis with three subscribers",
        wait,
        async || events.is_listening() && events.subscribers() >= 3,
    )
    .await;

    // The discovery enqueued by the create runs in another process.
    let mut worker = shared.worker();
    let mut names = std::collections::HashSet::new();
    while names.len() < PAGES * 100 {
        let event = client.result_of("repos", wait).await.unwrap();
        assert_eq!(
            event["data"]["repositoryEvents"]["kind"], "ADDED",
            "{event}"
        );
        names.insert(event["data"]["repositoryEvents"]["fullName"].to_string());
    }
    let finished = loop {
        let progress = client.result_of("progress", wait).await.unwrap();
        if progress["data"]["discoveryProgress"]["finished"] == true {
            break progress;
        }
    };
    assert_eq!(
        finished["data"]["discoveryProgress"]["outcome"],
        "SUCCEEDED"
    );
    assert_eq!(
        finished["data"]["discoveryProgress"]["added"],
        (PAGES * 100) as i64
    );
    let syncing = client.result_of("status", wait).await.unwrap();
    assert_eq!(syncing["data"]["connectionUpdated"]["status"], "SYNCING");
    let active = client.result_of("status", wait).await.unwrap();
    assert_eq!(active["data"]["connectionUpdated"]["status"], "ACTIVE");
    let _ = worker.kill();
    let _ = worker.wait();
}
