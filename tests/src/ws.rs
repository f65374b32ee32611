//! A GraphQL-over-WebSocket client for tests, speaking either protocol as its spec says:
//! `graphql-transport-ws` (subscribe / next / complete, ping / pong) or the legacy `graphql-ws`
//! (start / data / stop, `ka`).

// A test client: a socket that breaks fails the test where it broke, with what broke.
#![allow(clippy::expect_used)]

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Which protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsProtocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

impl WsProtocol {
    /// Its `Sec-WebSocket-Protocol` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }
}

/// One socket.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The protocol spoken.
    pub protocol: WsProtocol,
    /// Every server message received, in order (keep-alives included).
    pub transcript: Vec<Value>,
    /// Operation messages read while waiting for another operation's.
    waiting: std::collections::VecDeque<Value>,
}

/// How a read ended without a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server closed with this code and reason.
    Closed(u16, String),
    /// Nothing came in time.
    TimedOut,
}

impl WsClient {
    /// Opens `http_url`'s `/graphql` as a WebSocket offering `protocol`.
    pub async fn open(http_url: &str, protocol: WsProtocol) -> Self {
        Self::open_with(http_url, protocol, &[]).await
    }

    /// Opens the socket with extra handshake `headers` (a cookie, an origin).
    pub async fn open_with(http_url: &str, protocol: WsProtocol, headers: &[(&str, &str)]) -> Self {
        let url = format!("{}/graphql", http_url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(protocol.name()),
        );
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket opens");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some(protocol.name()),
            "the server chose the offered protocol"
        );
        Self {
            socket,
            protocol,
            transcript: Vec::new(),
            waiting: std::collections::VecDeque::new(),
        }
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the socket takes a message");
    }

    /// `connection_init` with `payload`; returns the first answer (ack) or how it ended.
    pub async fn init(&mut self, payload: Value) -> Result<Value, Ended> {
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        loop {
            let message = self.next(Duration::from_secs(10)).await?;
            match message["type"].as_str() {
                Some("connection_ack") => return Ok(message),
                Some("ka") => continue,
                Some("connection_error") => continue,
                _ => return Ok(message),
            }
        }
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            WsProtocol::TransportWs => "subscribe",
            WsProtocol::Legacy => "start",
        };
        self.send(
            json!({"type": kind, "id": id, "payload": {"query": query, "variables": variables}}),
        )
        .await;
    }

    /// The next server message (answering pings, skipping keep-alives).
    pub async fn next(&mut self, within: Duration) -> Result<Value, Ended> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Err(Ended::TimedOut),
                Ok(None) => return Err(Ended::Closed(1006, String::new())),
                Ok(Some(frame)) => frame,
            };
            let text = match frame {
                Ok(Message::Text(text)) => text.to_string(),
                Ok(Message::Close(frame)) => {
                    return Err(frame.map_or(Ended::Closed(1005, String::new()), |f| {
                        Ended::Closed(u16::from(f.code), f.reason.to_string())
                    }));
                }
                Ok(_) => continue,
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => {
                    return Err(Ended::Closed(1006, String::new()));
                }
                Err(err) => panic!("the socket failed: {err}"),
            };
            let message: Value = serde_json::from_str(&text).expect("the server sends JSON");
            self.transcript.push(message.clone());
            match message["type"].as_str() {
                Some("ping") => self.send(json!({"type": "pong"})).await,
                Some("ka") => {}
                _ => return Ok(message),
            }
        }
    }

    /// The next result payload of operation `id` (`next` or `data`), or the message that
    /// ended it (`error`, `complete`) as an `Err` value.
    pub async fn result_of(&mut self, id: &str, within: Duration) -> Result<Value, Value> {
        let deadline = tokio::time::Instant::now() + within;
        let message = match self.waiting.iter().position(|m| m["id"] == id) {
            Some(at) => self.waiting.remove(at),
            None => None,
        };
        if let Some(message) = message {
            return Self::as_result(message);
        }
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next(left).await.unwrap_or_else(|ended| {
                panic!(
                    "no result for {id}: {ended:?}; the last messages: {:?}",
                    self.transcript.iter().rev().take(5).collect::<Vec<_>>()
                )
            });
            if message["id"] != id {
                self.waiting.push_back(message);
                continue;
            }
            return Self::as_result(message);
        }
    }

    fn as_result(message: Value) -> Result<Value, Value> {
        match message["type"].as_str() {
            Some("next" | "data") => Ok(message["payload"].clone()),
            _ => Err(message),
        }
    }

    /// Closes the socket with `code`; the code the server's closing frame answers with.
    pub async fn close(&mut self, code: u16) -> u16 {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        };
        self.socket
            .close(Some(frame))
            .await
            .expect("the close frame goes out");
        self.closed().await
    }

    /// Waits for the server to close the socket; its code.
    pub async fn closed(&mut self) -> u16 {
        loop {
            match self.next(Duration::from_secs(25)).await {
                Ok(_) => continue,
                Err(Ended::Closed(code, _)) => return code,
                Err(Ended::TimedOut) => panic!("the server did not close the socket"),
            }
        }
    }
}
