//! Live subscriptions with a real client over both protocols: a discovery's events arrive in
//! order; another organization's never do; missing or bad credentials close the socket with
//! 4401 / 4403; a reconnecting client catches up through `discoveryRuns`.

use crate::fixtures::{self, discover};
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;
use tests::fake::{FakeCodeHost, Provider};
use tests::ws::{Ended, WsClient, WsProtocol};

const REPOS: usize = 250;
const WAIT: Duration = Duration::from_secs(30);

async fn setup(backend: Backend) -> (TestApp, FakeCodeHost) {
    let fake = FakeCodeHost::with_repos(REPOS).await.unwrap();
    let url = fake.url();
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = url).await;
    (app, fake)
}

async fn connect_gitlab(
    app: &TestApp,
    token: &str,
    group: &str,
) -> (String, entities::connection::Model) {
    fixtures::connect_gitlab(app, token, group, "glpat-fake-token-0001").await
}

/// Waits until the server has registered `count` live subscribers: a subscription starts
/// listening when its operation first runs, a moment after `subscribe` is sent.
async fn subscribed(app: &TestApp, count: usize) {
    let events = app.state.events.clone();
    tests::eventually("the subscriptions are listening", WAIT, async || {
        events.subscribers() >= count
    })
    .await;
}

async fn signed_in(app: &TestApp, protocol: WsProtocol, token: &str) -> WsClient {
    let mut client = WsClient::open(&app.address, protocol).await;
    let ack = client
        .init(json!({"authorization": format!("Bearer {token}")}))
        .await
        .expect("the server acknowledges");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    client
}

async fn a_discovery_s_events_arrive_in_order_over_both_protocols(backend: Backend) {
    let (app, fake) = setup(backend).await;
    fake.set_repos(Provider::Gitlab, "live/group", REPOS);
    let owner = app.owner().await;
    let (id, conn) = connect_gitlab(&app, &owner.token, "live/group").await;
    let mut clients = Vec::new();
    for protocol in [WsProtocol::TransportWs, WsProtocol::Legacy] {
        let mut client = signed_in(&app, protocol, &owner.token).await;
        client
            .subscribe(
                "status",
                "subscription($id: ID) { connectionUpdated(id: $id) { id status statusMessage } }",
                json!({"id": id}),
            )
            .await;
        client
            .subscribe("progress", "subscription($id: ID!) { discoveryProgress(connectionId: $id) { runId added updated unchanged gone finished outcome run { id outcome added } } }", json!({"id": id}))
            .await;
        client
            .subscribe("repos", "subscription($id: ID) { repositoryEvents(connectionId: $id) { kind repositoryId connectionId fullName } }", json!({"id": id}))
            .await;
        clients.push(client);
    }
    // Queries run over the socket too.
    for client in &mut clients {
        client
            .subscribe("hello", "{ viewer { role } }", json!({}))
            .await;
        let hello = client.result_of("hello", WAIT).await.unwrap();
        assert_eq!(hello["data"]["viewer"]["role"], "OWNER", "{hello}");
    }
    subscribed(&app, 6).await;

    let report = discover(&app, &conn).await;
    assert_eq!(report.counters.added, REPOS as i64);

    for client in &mut clients {
        let protocol = client.protocol;
        let syncing = client.result_of("status", WAIT).await.unwrap();
        assert_eq!(
            syncing["data"]["connectionUpdated"]["id"], id,
            "{protocol:?}"
        );
        let mut added = Vec::new();
        while added.len() < REPOS {
            let event = client.result_of("repos", WAIT).await.unwrap();
            let event = &event["data"]["repositoryEvents"];
            assert_eq!(event["kind"], "ADDED", "{protocol:?}: {event}");
            assert_eq!(event["connectionId"], id);
            added.push(event["fullName"].as_str().unwrap().to_owned());
        }
        added.sort();
        added.dedup();
        assert_eq!(added.len(), REPOS, "{protocol:?}: every repository once");

        let mut last_added = 0;
        let finished = loop {
            let progress = client.result_of("progress", WAIT).await.unwrap();
            let progress = progress["data"]["discoveryProgress"].clone();
            let now = progress["added"].as_i64().unwrap();
            assert!(
                now >= last_added,
                "{protocol:?}: counters only grow: {progress}"
            );
            last_added = now;
            if progress["finished"] == true {
                break progress;
            }
        };
        assert_eq!(finished["outcome"], "SUCCEEDED", "{protocol:?}");
        assert_eq!(finished["added"], REPOS as i64);
        assert_eq!(finished["run"]["outcome"], "SUCCEEDED");
        assert_eq!(finished["run"]["id"], finished["runId"]);
        // The connection's last change is its status after the run.
        let mut status = client.result_of("status", WAIT).await.unwrap();
        while status["data"]["connectionUpdated"]["status"] != "ACTIVE" {
            status = client.result_of("status", WAIT).await.unwrap();
        }
        assert!(
            status["data"]["connectionUpdated"]["statusMessage"]
                .as_str()
                .unwrap()
                .contains(&REPOS.to_string()),
            "{status}"
        );
    }

    // A client that reconnects catches up through discoveryRuns.
    let runs = app
        .graphql(
            Some(&owner.token),
            "query($id: ID) { discoveryRuns(connectionId: $id, first: 5) { nodes { outcome added trigger durationMs issues { code } } } }",
            json!({"id": id}),
        )
        .await;
    let runs = &runs["data"]["discoveryRuns"]["nodes"];
    assert_eq!(runs[0]["outcome"], "SUCCEEDED", "{runs}");
    assert_eq!(runs[0]["added"], REPOS as i64);
}

async fn another_organization_s_events_are_never_delivered(backend: Backend) {
    let (app, fake) = setup(backend).await;
    fake.set_repos(Provider::Gitlab, "a/group", 120);
    fake.set_repos(Provider::Gitlab, "b/group", 3);
    let alice = app.owner().await;
    let bob = app.owner().await;
    let (_, alice_conn) = connect_gitlab(&app, &alice.token, "a/group").await;
    let (bob_id, _) = connect_gitlab(&app, &bob.token, "b/group").await;

    let mut spy = signed_in(&app, WsProtocol::TransportWs, &bob.token).await;
    spy.subscribe(
        "conns",
        "subscription { connectionUpdated { id name } }",
        json!({}),
    )
    .await;
    spy.subscribe(
        "repos",
        "subscription { repositoryEvents { fullName } }",
        json!({}),
    )
    .await;
    spy.subscribe(
        "runs",
        "subscription { discoveryRunEvents { runId } }",
        json!({}),
    )
    .await;
    subscribed(&app, 3).await;

    discover(&app, &alice_conn).await;
    // The bus delivers in order: once Bob sees his own later change, Alice's events (all
    // published before it) would have arrived had they been his.
    let synced = app
        .graphql(
            Some(&bob.token),
            "mutation($id: ID!) { syncConnection(input: {id: $id}) { connection { id } } }",
            json!({"id": bob_id}),
        )
        .await;
    assert_eq!(synced["data"]["syncConnection"]["connection"]["id"], bob_id);
    let first = spy.next(WAIT).await.expect("Bob's own event arrives");
    assert_eq!(
        first["id"], "conns",
        "the first event Bob gets is his own: {first}"
    );
    assert_eq!(first["payload"]["data"]["connectionUpdated"]["id"], bob_id);

    // Asking for Alice's connection by id is NOT_FOUND, not a stream of her events.
    let alice_id = api::graphql::ids::encode(api::graphql::ids::Kind::Connection, alice_conn.id);
    spy.subscribe(
        "theirs",
        "subscription($id: ID!) { discoveryProgress(connectionId: $id) { runId } }",
        json!({"id": alice_id.to_string()}),
    )
    .await;
    let refused = spy.result_of("theirs", WAIT).await;
    let refused: Value = match refused {
        Ok(payload) => payload,
        Err(message) => message["payload"].clone(),
    };
    assert!(refused.to_string().contains("NOT_FOUND"), "{refused}");
}

async fn missing_or_bad_credentials_close_the_socket_with_4401_or_4403(backend: Backend) {
    let (app, _fake) = setup(backend).await;
    let owner = app.owner().await;
    for protocol in [WsProtocol::TransportWs, WsProtocol::Legacy] {
        let mut anonymous = WsClient::open(&app.address, protocol).await;
        assert_eq!(
            anonymous.init(json!({})).await.err(),
            Some(Ended::Closed(4401, "Unauthorized".into())),
            "{protocol:?}"
        );
        let mut forged = WsClient::open(&app.address, protocol).await;
        assert_eq!(
            forged
                .init(json!({"authorization": "Bearer tth_not-a-real-token"}))
                .await
                .err(),
            Some(Ended::Closed(4403, "Forbidden".into())),
            "{protocol:?}"
        );
        // A subscription before connection_init is unauthorized.
        let mut eager = WsClient::open(&app.address, protocol).await;
        eager
            .subscribe("1", "subscription { connectionUpdated { id } }", json!({}))
            .await;
        assert_eq!(eager.closed().await, 4401, "{protocol:?}");
    }
    // The legacy protocol keeps the connection alive with `ka` from the acknowledgement on.
    let mut legacy = signed_in(&app, WsProtocol::Legacy, &owner.token).await;
    legacy
        .subscribe("hello", "{ viewer { role } }", json!({}))
        .await;
    assert!(legacy.result_of("hello", WAIT).await.is_ok());
    assert!(
        legacy.transcript.iter().any(|m| m["type"] == "ka"),
        "{:?}",
        legacy.transcript
    );
    assert_eq!(
        legacy.close(1000).await,
        1000,
        "the closing handshake echoes the code"
    );

    // Keep-alives are pings the client answers; a session revoked mid-connection is closed at
    // the next one (4403), and the socket works until then. `steady` opened first, so its
    // first ping goes out before `client` is closed.
    let other = app.owner().await;
    let mut steady = signed_in(&app, WsProtocol::TransportWs, &other.token).await;
    let mut client = signed_in(&app, WsProtocol::TransportWs, &owner.token).await;
    client
        .subscribe("hello", "{ viewer { role } }", json!({}))
        .await;
    assert!(client.result_of("hello", WAIT).await.is_ok());
    let logout = app
        .graphql(
            Some(&owner.token),
            "mutation { logout { revoked } }",
            json!({}),
        )
        .await;
    assert_eq!(logout["data"]["logout"]["revoked"], true);
    assert_eq!(client.closed().await, 4403);
    assert_eq!(
        steady.next(Duration::from_secs(2)).await,
        Err(Ended::TimedOut)
    );
    assert!(
        steady.transcript.iter().any(|m| m["type"] == "ping"),
        "{:?}",
        steady.transcript
    );
}

on_both_backends!(
    a_discovery_s_events_arrive_in_order_over_both_protocols,
    another_organization_s_events_are_never_delivered,
    missing_or_bad_credentials_close_the_socket_with_4401_or_4403,
);
