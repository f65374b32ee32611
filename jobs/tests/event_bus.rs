//! The event bus over a Redis server of its own (started here on a free port, so stopping it
//! touches no other test): every process's messages reach every process, in order, and a bus
//! that loses Redis reconnects by itself, publishing and listening again once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jobs::events::{Event, EventBus};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn changed(n: usize) -> Event {
    Event::ConnectionChanged {
        connection_id: Uuid::nil(),
        status: Some(format!("S{n}")),
        message: None,
    }
}

/// Publishes until `receiver` gets something: after a reconnection, messages published before
/// the listener is back are lost (they are hints), so the first one through proves the path.
async fn first_through(
    publisher: &EventBus,
    receiver: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<jobs::events::Message>>,
    organization: Uuid,
) {
    for n in 0..500 {
        publisher.publish_one(organization, changed(n));
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(50), receiver.recv()).await {
            return;
        }
    }
    panic!("nothing came through after the reconnection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_processes_in_order_and_survive_a_redis_restart() {
    let port = free_port();
    let mut server = Server::start(port);
    let channel = format!("t{}-events", Uuid::now_v7().simple());
    // Two buses stand for a worker process and an API process.
    let worker = EventBus::redis(&server.url(), &channel).unwrap();
    let api = EventBus::redis(&server.url(), &channel).unwrap();
    until("both buses listen", || {
        worker.is_listening() && api.is_listening()
    })
    .await;
    let mut received = api.subscribe();
    let organization = Uuid::now_v7();
    for n in 0..200 {
        worker.publish_one(organization, changed(n));
    }
    for n in 0..200 {
        let message = tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .expect("a message in time")
            .unwrap();
        assert_eq!(message.organization_id, organization);
        assert_eq!(message.events, vec![changed(n)], "in order");
    }

    server.stop();
    until("the API bus notices Redis is gone", || !api.is_listening()).await;
    let _restarted = Server::start(port);
    until("the API bus listens again", || api.is_listening()).await;
    first_through(&worker, &mut received, organization).await;
}
