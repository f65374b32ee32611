//! The one HTTP stack against a real server on loopback: what it retries, what it hands back,
//! how it shares a rate limit, and that no body is read past its cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use jobs::http::{FetchError, FetchPolicy, Fetcher, LocalBudget, RateBudget};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn policy() -> FetchPolicy {
    FetchPolicy {
        attempts: 3,
        base_backoff: Duration::from_millis(5),
        max_wait: Duration::from_secs(2),
        max_body: 1024,
        retry_timeouts: true,
    }
}

fn fetcher(budget: Arc<dyn RateBudget>) -> Fetcher {
    Fetcher::new(budget, "key".into(), "provider.test".into(), policy())
}

async fn served(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn a_server_error_is_retried_until_the_provider_recovers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let http = fetcher(Arc::new(LocalBudget::default()));
    let client = reqwest::Client::new();
    let response = http.send(client.get(server.uri())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(served(&server).await, 3, "two 502s, then the answer");
    assert_eq!(http.stats().requests(), 3);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_transient_after_the_last_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let http = fetcher(Arc::new(LocalBudget::default()));
    let err = http
        .send(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::Transient("provider.test answered HTTP 503".into())
    );
    assert_eq!(served(&server).await, 3);
}

#[tokio::test]
async fn client_errors_come_back_at_once_for_checks_and_typed_for_jobs() {
    let server = MockServer::start().await;
    for (route, status) in [("/401", 401), ("/403", 403), ("/404", 404), ("/422", 422)] {
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(status).set_body_string(r#"{"message":"no"}"#))
            .mount(&server)
            .await;
    }
    let http = fetcher(Arc::new(LocalBudget::default()));
    let client = reqwest::Client::new();
    let url = |route: &str| format!("{}{route}", server.uri());
    // A check reads the refusal itself.
    let response = http.response(client.get(url("/401"))).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(http.error_json(response).await["message"], "no");
    // A job gets it typed.
    let kinds: Vec<_> = futures::future::join_all(
        ["/401", "/403", "/404", "/422"].map(|r| http.send(client.get(url(r)))),
    )
    .await
    .into_iter()
    .map(|r| match r {
        Err(FetchError::Unauthorized(_)) => "unauthorized",
        Err(FetchError::NotFound(_)) => "not found",
        Err(FetchError::Protocol(_)) => "protocol",
        other => panic!("{other:?}"),
    })
    .collect();
    assert_eq!(
        kinds,
        ["unauthorized", "unauthorized", "not found", "protocol"]
    );
    assert_eq!(served(&server).await, 5, "no client error is retried");
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_shared_with_every_fetcher_of_the_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let budget: Arc<dyn RateBudget> = Arc::new(LocalBudget::default());
    let http = fetcher(budget.clone());
    let started = std::time::Instant::now();
    let (list, _): (Vec<u8>, _) = http
        .json(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap();
    assert!(list.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(http.stats().rate_limit_waits(), 1);
    // A wait longer than the caller may hold on is handed back with its end.
    budget
        .block_until("key", Utc::now() + chrono::Duration::seconds(60))
        .await;
    let err = fetcher(budget)
        .send(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::RateLimited { .. }), "{err:?}");
    assert_eq!(served(&server).await, 2, "the blocked fetcher sent nothing");
}

#[tokio::test]
async fn a_body_announced_larger_than_the_cap_is_refused_unread() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    let http = fetcher(Arc::new(LocalBudget::default()));
    let err = http
        .json::<serde_json::Value>(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::TooLarge(m) if m.contains("larger than 1024 bytes")),
        "{err:?}"
    );
}

/// A server that streams an endless chunked body: only a cap on what is read ends it.
async fn endless_chunked_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("100\r\n{}\r\n", "[".repeat(256));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let url = endless_chunked_server().await;
    let http = fetcher(Arc::new(LocalBudget::default()));
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        http.json::<serde_json::Value>(reqwest::Client::new().get(url)),
    )
    .await
    .expect("the read stops at the cap");
    assert!(
        matches!(&result, Err(FetchError::TooLarge(m)) if m.contains("larger than")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_reset_centuries_away_blocks_the_budget_for_a_day_at_most() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", "9999999999")
                .set_body_string("{}"),
        )
        .mount(&server)
        .await;
    let budget: Arc<dyn RateBudget> = Arc::new(LocalBudget::default());
    fetcher(budget.clone())
        .send(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap();
    let until = budget
        .blocked_until("key")
        .await
        .expect("the budget is spent");
    assert!(
        until <= Utc::now() + chrono::Duration::hours(24) + chrono::Duration::seconds(1),
        "blocked until {until}"
    );
}

/// A budget that cannot record anything, as Redis is when it is down.
struct Forgetful;

#[async_trait::async_trait]
impl RateBudget for Forgetful {
    async fn blocked_until(&self, _: &str) -> Option<chrono::DateTime<Utc>> {
        None
    }
    async fn block_until(&self, _: &str, _: chrono::DateTime<Utc>) {}
}

#[tokio::test]
async fn retry_after_is_honoured_even_when_the_budget_cannot_record_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    fetcher(Arc::new(Forgetful))
        .send(reqwest::Client::new().get(server.uri()))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(served(&server).await, 2);
}

#[tokio::test]
async fn a_live_check_does_not_wait_for_a_hanging_host_twice() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket); // never answered
        }
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let http = Fetcher::new(
        Arc::new(LocalBudget::default()),
        "key".into(),
        "provider.test".into(),
        FetchPolicy::check(),
    );
    let err = http
        .response(client.get(format!("http://{address}/")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Transient(m) if m.contains("timed out")),
        "{err:?}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A job is patient: the same host is asked again.
    let job = Fetcher::new(
        Arc::new(LocalBudget::default()),
        "key".into(),
        "provider.test".into(),
        FetchPolicy {
            base_backoff: Duration::from_millis(5),
            ..FetchPolicy::default()
        },
    );
    let _ = job.response(client.get(format!("http://{address}/"))).await;
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 5);
}
