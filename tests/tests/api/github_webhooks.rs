//! `POST /webhooks/github`: signed deliveries over real HTTP to the API (alone, so enqueued
//! discoveries stay queued where a test can count them), against connections and repositories
//! inserted as fixtures.

use crate::fixtures;
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use chrono::Utc;
use entities::{
    ConnectionStatus, Provider, RepositoryState, Visibility, connection, discovery_run, finding,
    organization, repository, webhook_delivery,
};
use jobs::Scope;
use jobs::providers::github::InstallationId;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};
use serde_json::{Value, json};
use tests::fake::signature;
use uuid::Uuid;

const SECRET: &str = "whsec-test-It's a Secret to Everybody";
/// The requesting GitHub user of GitHub's documented `installation.created` sample.
const REQUESTER: u64 = 21031067;

async fn app(backend: Backend) -> TestApp {
    spawn_api_only(backend, |raw| {
        raw.github_webhook_secret = Some(SECRET.into());
    })
    .await
}

/// POSTs `body` as delivery `id` of `event`, with `signature` as `X-Hub-Signature-256`.
async fn post(
    app: &TestApp,
    event: &str,
    id: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/webhooks/github", app.address))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", id)
        .header("User-Agent", "GitHub-Hookshot/044aadd")
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    let response = request.send().await.expect("the delivery reaches Tether");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Delivers `payload`, signed as GitHub would, under a fresh delivery id.
async fn deliver(app: &TestApp, event: &str, payload: &Value) -> (u16, Value) {
    deliver_as(app, event, &Uuid::new_v4().to_string(), payload).await
}

async fn deliver_as(app: &TestApp, event: &str, id: &str, payload: &Value) -> (u16, Value) {
    let body = payload.to_string().into_bytes();
    let signed = signature(SECRET, &body);
    post(app, event, id, body, Some(signed)).await
}

async fn organization(app: &TestApp) -> Uuid {
    organization::ActiveModel {
        id: Set(entities::new_id()),
        name: Set("Acme".into()),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap()
    .id
}

/// A GitHub connection of `organization`: to `installation`, or (without one) a request
/// waiting for an owner's approval, as the install flow stores it.
async fn github_connection(
    app: &TestApp,
    organization: Uuid,
    installation: Option<i64>,
    status: ConnectionStatus,
    requested_by: Option<u64>,
) -> connection::Model {
    let id = entities::new_id();
    let (scope_key, host) = match installation {
        Some(installation) => {
            let identity = Scope::Github(InstallationId::new(installation).unwrap())
                .identity(app.state.providers.endpoints());
            (identity.key, identity.host)
        }
        None => (format!("github:pending:{id}"), "github.com".to_owned()),
    };
    let now = Utc::now();
    connection::ActiveModel {
        id: Set(id),
        organization_id: Set(organization),
        provider: Set(Provider::Github),
        name: Set("ghost-org".into()),
        status: Set(status),
        status_message: Set(Some("as the fixture left it".into())),
        scope_key: Set(scope_key),
        host: Set(host),
        installation_id: Set(installation),
        next_discovery_at: Set(installation.map(|_| now + chrono::Duration::hours(1))),
        created_at: Set(now),
        updated_at: Set(now),
        requested_by: Set(requested_by.map(|id| id.to_string())),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap()
}

async fn reload(app: &TestApp, conn: &connection::Model) -> Option<connection::Model> {
    connection::Entity::find_by_id(conn.id)
        .one(&app.state.db)
        .await
        .unwrap()
}

async fn repo(app: &TestApp, repo: &repository::Model) -> repository::Model {
    repository::Entity::find_by_id(repo.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn deliveries(app: &TestApp) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

fn installation_payload(action: &str, installation: i64, requester: Option<u64>) -> Value {
    json!({
        "action": action,
        "installation": {"id": installation, "account": {"login": "ghost-org", "id": 38302899, "type": "Organization"},
                         "repository_selection": "all", "app_id": 4242, "target_type": "Organization",
                         "permissions": {"contents": "read", "metadata": "read"}, "events": [],
                         "created_at": 1557933591, "updated_at": 1557933591},
        "requester": requester.map(|id| json!({"login": "Codertocat", "id": id, "type": "User"})),
        "sender": {"login": "Codertocat", "id": REQUESTER, "type": "User"}
    })
}

fn announced(id: &str, name: &str, private: bool) -> Value {
    json!({"id": id.parse::<u64>().unwrap(), "node_id": format!("R_{id}"), "name": name,
           "full_name": format!("ghost-org/{name}"), "private": private})
}

fn repositories_payload(installation: i64, added: Vec<Value>, removed: Vec<Value>) -> Value {
    let action = if added.is_empty() { "removed" } else { "added" };
    json!({
        "action": action,
        "installation": {"id": installation, "account": {"login": "ghost-org"}},
        "repository_selection": "selected",
        "repositories_added": added,
        "repositories_removed": removed,
        "requester": null,
        "sender": {"login": "Codertocat", "id": REQUESTER}
    })
}

async fn unsigned_or_badly_signed_deliveries_are_refused_and_change_nothing(backend: Backend) {
    let app = app(backend).await;
    let org = organization(&app).await;
    let conn = github_connection(&app, org, Some(42), ConnectionStatus::Active, None).await;
    let payload = installation_payload("deleted", 42, None);
    let body = payload.to_string().into_bytes();
    let tampered = payload.to_string().replace("42", "43").into_bytes();
    let hex = signature(SECRET, &body)
        .trim_start_matches("sha256=")
        .to_owned();
    let attempts = [
        (body.clone(), None),
        (body.clone(), Some(signature("not the secret", &body))),
        (body.clone(), Some(format!("sha1={hex}"))),
        (body.clone(), Some(format!("sha256={}", &hex[1..]))),
        (body.clone(), Some("sha256=zz".to_owned())),
        (tampered, Some(signature(SECRET, &body))),
    ];
    for (body, signature) in attempts {
        let (status, answer) = post(&app, "installation", "d-1", body, signature.clone()).await;
        assert_eq!(status, 401, "{signature:?}: {answer}");
    }
    let (status, _) = deliver_as(&app, "installation", "d-1", &payload).await;
    assert_eq!(status, 200, "the same delivery, signed, goes through");
    // Nothing before it was processed or recorded: the signed one was not taken for a redelivery.
    assert_eq!(
        reload(&app, &conn).await.unwrap().status,
        ConnectionStatus::Suspended
    );
    assert_eq!(deliveries(&app).await.len(), 1);
}

async fn deliveries_that_are_too_large_or_not_understood_are_refused_and_not_recorded(
    backend: Backend,
) {
    let app = app(backend).await;
    let org = organization(&app).await;
    let conn = github_connection(&app, org, Some(42), ConnectionStatus::Active, None).await;
    let mut huge = installation_payload("deleted", 42, None);
    huge["padding"] = json!("x".repeat(5 * 1024 * 1024));
    let (status, _) = deliver(&app, "installation", &huge).await;
    assert_eq!(status, 413);
    let mut negative = installation_payload("deleted", 42, None);
    negative["installation"]["id"] = json!("forty-two");
    let (status, _) = deliver(&app, "installation", &negative).await;
    assert_eq!(status, 400);
    let (status, answer) = deliver(&app, "issues", &json!({"action": "opened"})).await;
    assert_eq!((status, &answer["status"]), (200, &json!("ignored")));
    assert_eq!(
        reload(&app, &conn).await.unwrap().status,
        ConnectionStatus::Active
    );
    assert!(deliveries(&app).await.is_empty());
}

async fn a_server_without_a_webhook_secret_refuses_deliveries_clearly(backend: Backend) {
    let app = spawn_api_only(backend, |_| {}).await;
    let payload = installation_payload("deleted", 42, None);
    let (status, answer) = deliver_as(&app, "installation", "d-1", &payload).await;
    assert_eq!(status, 503);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("TETHER_GITHUB_WEBHOOK_SECRET"),
        "{answer}"
    );
    assert!(deliveries(&app).await.is_empty());
}

async fn a_delivery_sent_twice_is_processed_once(backend: Backend) {
    let app = app(backend).await;
    let org = organization(&app).await;
    let conn = github_connection(&app, org, Some(42), ConnectionStatus::Active, None).await;
    let api = fixtures::repository(&app.state.db, &conn, "1296269", "api").await;
    let payload = repositories_payload(42, vec![], vec![announced("1296269", "api", true)]);
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let (status, answer) = deliver_as(&app, "installation_repositories", id, &payload).await;
    assert_eq!((status, &answer["status"]), (200, &json!("processed")));
    assert_eq!(repo(&app, &api).await.state, RepositoryState::Gone);
    // Were the redelivery processed again, this row would go back to GONE.
    let mut revived = repo(&app, &api).await.into_active_model();
    revived.state = Set(RepositoryState::Active);
    revived.update(&app.state.db).await.unwrap();
    let (status, answer) = deliver_as(&app, "installation_repositories", id, &payload).await;
    assert_eq!((status, &answer["status"]), (200, &json!("duplicate")));
    assert_eq!(repo(&app, &api).await.state, RepositoryState::Active);
    let recorded = deliveries(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].id.as_str(), recorded[0].event.as_str()),
        (id, "installation_repositories.removed")
    );
}

async fn an_approved_installation_completes_the_pending_requests_of_its_requester(
    backend: Backend,
) {
    let app = app(backend).await;
    let (acme, globex, other) = (
        organization(&app).await,
        organization(&app).await,
        organization(&app).await,
    );
    let pending =
        github_connection(&app, acme, None, ConnectionStatus::Pending, Some(REQUESTER)).await;
    // A repository Acme kept from an earlier connection to this installation.
    let earlier = github_connection(&app, acme, Some(957387), ConnectionStatus::Active, None).await;
    let kept_repo = fixtures::repository(&app.state.db, &earlier, "186853002", "Hello-World").await;
    crate::fixtures::finding(&app.state.db, &kept_repo).await;
    connection::Entity::delete_by_id(earlier.id)
        .exec(&app.state.db)
        .await
        .unwrap();
    let mut detached = repo(&app, &kept_repo).await.into_active_model();
    detached.state = Set(RepositoryState::Detached);
    detached.detached_state = Set(Some(RepositoryState::Active));
    detached.scan_enabled = Set(false);
    detached.detached_scan_enabled = Set(Some(true));
    detached.update(&app.state.db).await.unwrap();
    // Globex already connected the installation; another user's request waits elsewhere.
    let globex_pending = github_connection(
        &app,
        globex,
        None,
        ConnectionStatus::Pending,
        Some(REQUESTER),
    )
    .await;
    let globex_existing =
        github_connection(&app, globex, Some(957387), ConnectionStatus::Active, None).await;
    let unrelated =
        github_connection(&app, other, None, ConnectionStatus::Pending, Some(583231)).await;

    let payload = installation_payload("created", 957387, Some(REQUESTER));
    let (status, answer) = deliver(&app, "installation", &payload).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("processed")),
        "{answer}"
    );

    let completed = reload(&app, &pending).await.unwrap();
    let identity = Scope::Github(InstallationId::new(957387).unwrap())
        .identity(app.state.providers.endpoints());
    assert_eq!(completed.installation_id, Some(957387));
    assert_eq!(
        (completed.scope_key.as_str(), completed.host.as_str()),
        (identity.key.as_str(), identity.host.as_str())
    );
    assert_eq!(completed.requested_by, None);
    assert_eq!(completed.status, ConnectionStatus::Pending);
    assert_eq!(
        completed.status_message.as_deref(),
        Some("Installation approved; waiting for the first discovery")
    );
    // Its discovery is queued, and claimed so the scheduler does not queue it again.
    assert_eq!(app.state.queues.cancel(completed.id).await.unwrap(), 1);
    assert!(completed.next_discovery_at.unwrap() > Utc::now() + chrono::Duration::minutes(5));
    let reattached = repo(&app, &kept_repo).await;
    assert_eq!(
        fixtures::listed_by(&app.state.db, &reattached).await,
        [completed.id]
    );
    assert_eq!(
        (reattached.state, reattached.scan_enabled),
        (RepositoryState::Active, true)
    );
    assert_eq!(
        finding::Entity::find().count(&app.state.db).await.unwrap(),
        1
    );

    assert!(
        reload(&app, &globex_pending).await.is_none(),
        "the duplicate request is dropped"
    );
    assert_eq!(
        reload(&app, &globex_existing).await.unwrap(),
        globex_existing
    );
    assert_eq!(reload(&app, &unrelated).await.unwrap(), unrelated);
    assert_eq!(
        app.state.queues.cancel(globex_existing.id).await.unwrap(),
        0
    );
}

async fn repositories_removed_from_an_installation_are_gone_and_nothing_else(backend: Backend) {
    let app = app(backend).await;
    let (acme, globex) = (organization(&app).await, organization(&app).await);
    let conn = github_connection(&app, acme, Some(42), ConnectionStatus::Active, None).await;
    let api = fixtures::repository(&app.state.db, &conn, "1", "api").await;
    let web = fixtures::repository(&app.state.db, &conn, "2", "web").await;
    let docs = fixtures::repository(&app.state.db, &conn, "3", "docs").await;
    // The same GitHub repository under another organization's other installation.
    let elsewhere = github_connection(&app, globex, Some(43), ConnectionStatus::Active, None).await;
    let web_elsewhere = fixtures::repository(&app.state.db, &elsewhere, "2", "web").await;

    let payload = repositories_payload(
        42,
        vec![],
        vec![announced("2", "web", true), announced("3", "docs", false)],
    );
    let (status, _) = deliver(&app, "installation_repositories", &payload).await;
    assert_eq!(status, 200);

    assert_eq!(repo(&app, &web).await.state, RepositoryState::Gone);
    assert_eq!(repo(&app, &docs).await.state, RepositoryState::Gone);
    assert_eq!(repo(&app, &api).await, api);
    assert_eq!(repo(&app, &web_elsewhere).await, web_elsewhere);
    // No discovery: neither run nor queued.
    assert_eq!(app.state.queues.cancel(conn.id).await.unwrap(), 0);
    assert_eq!(
        discovery_run::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(reload(&app, &conn).await.unwrap(), conn);
}

async fn repositories_added_to_an_installation_appear_without_a_discovery(backend: Backend) {
    let app = app(backend).await;
    let org = organization(&app).await;
    let conn = github_connection(&app, org, Some(42), ConnectionStatus::Active, None).await;
    let returning = fixtures::repository(&app.state.db, &conn, "7", "old-name").await;
    let mut gone = repo(&app, &returning).await.into_active_model();
    gone.state = Set(RepositoryState::Gone);
    gone.update(&app.state.db).await.unwrap();

    let payload = repositories_payload(
        42,
        vec![
            announced("1296269", "Hello-World", true),
            announced("7", "new-name", true),
        ],
        vec![],
    );
    let (status, _) = deliver(&app, "installation_repositories", &payload).await;
    assert_eq!(status, 200);

    let rows = fixtures::rows(&app, &conn).await;
    let added = rows.iter().find(|r| r.external_id == "1296269").unwrap();
    assert_eq!(
        (added.state, added.visibility),
        (RepositoryState::Active, Visibility::Private)
    );
    assert_eq!(
        (added.name.as_str(), added.full_name.as_str()),
        ("Hello-World", "ghost-org/Hello-World")
    );
    assert_eq!(
        added.web_url.as_deref(),
        Some("https://github.com/ghost-org/Hello-World")
    );
    assert_eq!(
        added.clone_url.as_deref(),
        Some("https://github.com/ghost-org/Hello-World.git")
    );
    assert_eq!(added.default_branch, None, "left for the next discovery");
    let back = repo(&app, &returning).await;
    assert_eq!(
        (back.state, back.full_name.as_str()),
        (RepositoryState::Active, "ghost-org/new-name")
    );
    assert_eq!(
        back.default_branch.as_deref(),
        Some("main"),
        "what the announcement lacks is kept"
    );
    assert_eq!(back.topics, returning.topics);
    assert_eq!(app.state.queues.cancel(conn.id).await.unwrap(), 0);
}

async fn an_uninstalled_app_suspends_its_connections_and_keeps_everything(backend: Backend) {
    let app = app(backend).await;
    let (acme, globex) = (organization(&app).await, organization(&app).await);
    let conn = github_connection(&app, acme, Some(42), ConnectionStatus::Active, None).await;
    let also = github_connection(&app, globex, Some(42), ConnectionStatus::Degraded, None).await;
    let other = github_connection(&app, acme, Some(43), ConnectionStatus::Active, None).await;
    let api = fixtures::repository(&app.state.db, &conn, "1", "api").await;
    fixtures::finding(&app.state.db, &api).await;

    let (status, _) = deliver(
        &app,
        "installation",
        &installation_payload("deleted", 42, None),
    )
    .await;
    assert_eq!(status, 200);

    for suspended in [&conn, &also] {
        let now = reload(&app, suspended).await.unwrap();
        assert_eq!(now.status, ConnectionStatus::Suspended);
        let message = now.status_message.unwrap();
        assert!(message.contains("uninstalled from ghost-org"), "{message}");
        assert!(message.contains("kept"), "{message}");
    }
    assert_eq!(reload(&app, &other).await.unwrap(), other);
    assert_eq!(repo(&app, &api).await, api);
    assert_eq!(
        finding::Entity::find().count(&app.state.db).await.unwrap(),
        1
    );

    // Suspended, then back: the discovery that sets its status again is queued.
    let (status, _) = deliver(
        &app,
        "installation",
        &installation_payload("suspend", 43, None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        reload(&app, &other).await.unwrap().status,
        ConnectionStatus::Suspended
    );
    let (status, _) = deliver(
        &app,
        "installation",
        &installation_payload("unsuspend", 43, None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.state.queues.cancel(other.id).await.unwrap(), 1);
    assert_eq!(app.state.queues.cancel(conn.id).await.unwrap(), 0);
}

fn repository_payload(action: &str, id: u64, name: &str, installation: i64) -> Value {
    json!({
        "action": action,
        "repository": {"id": id, "name": name, "full_name": format!("ghost-org/{name}"), "private": true,
                       "html_url": format!("https://github.com/ghost-org/{name}"),
                       "clone_url": format!("https://github.com/ghost-org/{name}.git"),
                       "default_branch": "main", "archived": action == "archived", "visibility": "private",
                       "created_at": "2019-05-15T15:20:42Z", "pushed_at": 1557933657},
        "sender": {"login": "Codertocat", "id": REQUESTER},
        "installation": {"id": installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    })
}

fn push_payload(reference: &str, after: &str, id: u64, installation: i64) -> Value {
    json!({
        "ref": reference, "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "after": after,
        "created": false, "deleted": false, "forced": false, "commits": [],
        "repository": {"id": id, "name": "api", "full_name": "ghost-org/api", "default_branch": "main",
                       "created_at": 1557933565, "pushed_at": 1557933657},
        "installation": {"id": installation}
    })
}

async fn repository_events_and_pushes_update_only_that_repository(backend: Backend) {
    let app = app(backend).await;
    let org = organization(&app).await;
    let conn = github_connection(&app, org, Some(42), ConnectionStatus::Active, None).await;
    let api = fixtures::repository(&app.state.db, &conn, "1", "api").await;
    let web = fixtures::repository(&app.state.db, &conn, "2", "web").await;

    let (status, _) = deliver(
        &app,
        "repository",
        &repository_payload("renamed", 1, "api-v2", 42),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = deliver(
        &app,
        "repository",
        &repository_payload("archived", 1, "api-v2", 42),
    )
    .await;
    assert_eq!(status, 200);
    let renamed = repo(&app, &api).await;
    assert_eq!(
        (renamed.name.as_str(), renamed.full_name.as_str()),
        ("api-v2", "ghost-org/api-v2")
    );
    assert_eq!(
        renamed.web_url.as_deref(),
        Some("https://github.com/ghost-org/api-v2")
    );
    assert!(renamed.archived);
    // Another installation's event about the same id changes nothing here.
    let (status, _) = deliver(
        &app,
        "repository",
        &repository_payload("deleted", 1, "api-v2", 99),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(repo(&app, &api).await.state, RepositoryState::Active);

    let head = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
    let (status, answer) = deliver(
        &app,
        "push",
        &push_payload("refs/heads/feature", head, 1, 42),
    )
    .await;
    assert_eq!((status, &answer["status"]), (200, &json!("ignored")));
    assert_eq!(repo(&app, &api).await.head_commit_sha, api.head_commit_sha);
    let (status, _) = deliver(&app, "push", &push_payload("refs/heads/main", head, 1, 42)).await;
    assert_eq!(status, 200);
    assert_eq!(
        repo(&app, &api).await.head_commit_sha.as_deref(),
        Some(head)
    );

    let (status, _) = deliver(
        &app,
        "repository",
        &repository_payload("deleted", 1, "api-v2", 42),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(repo(&app, &api).await.state, RepositoryState::Gone);
    // Gone for the connection too: it no longer lists it.
    assert!(fixtures::listed_by(&app.state.db, &api).await.is_empty());
    assert_eq!(fixtures::listed_by(&app.state.db, &web).await, [conn.id]);
    assert_eq!(repo(&app, &web).await, web);
    assert_eq!(app.state.queues.cancel(conn.id).await.unwrap(), 0);
}

on_both_backends!(
    unsigned_or_badly_signed_deliveries_are_refused_and_change_nothing,
    deliveries_that_are_too_large_or_not_understood_are_refused_and_not_recorded,
    a_server_without_a_webhook_secret_refuses_deliveries_clearly,
    a_delivery_sent_twice_is_processed_once,
    an_approved_installation_completes_the_pending_requests_of_its_requester,
    repositories_removed_from_an_installation_are_gone_and_nothing_else,
    repositories_added_to_an_installation_appear_without_a_discovery,
    an_uninstalled_app_suspends_its_connections_and_keeps_everything,
    repository_events_and_pushes_update_only_that_repository,
);
