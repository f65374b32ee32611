//! GraphQL over WebSocket at `/graphql`, our own way (like HTTP): both `graphql-transport-ws`
//! and the legacy `graphql-ws` protocol, negotiated by `Sec-WebSocket-Protocol`; the caller
//! authenticated in `connection_init` (a bearer token, or the dashboard's cookie with its CSRF
//! token), 4401 without credentials and 4403 with bad ones; documents held to the same limits as
//! over HTTP; server keep-alives that also re-check the caller's token.

use super::limits;
use crate::auth::{Viewer, cookie, viewer};
use crate::graphql::context::RequestContext;
use crate::graphql::errors::sanitize;
use crate::http::graphql::Endpoint;
use crate::state::AppState;
use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message as Frame};
use async_graphql::Variables;
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server pings (and re-checks the caller's token).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Operations one socket may run at once.
const MAX_OPERATIONS: usize = 100;

/// The two protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws` (the graphql-ws library).
    TransportWs,
    /// `graphql-ws` (Apollo's legacy subscriptions-transport-ws).
    Legacy,
}

impl Protocol {
    fn negotiate(offered: Option<&str>) -> Option<Self> {
        let offered: Vec<&str> = offered?.split(',').map(str::trim).collect();
        if offered.contains(&"graphql-transport-ws") {
            Some(Self::TransportWs)
        } else if offered.contains(&"graphql-ws") {
            Some(Self::Legacy)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }
}

/// Whether `req` asks to upgrade to a WebSocket.
pub fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// What the upgrade request tells about the caller, kept for `connection_init`.
struct Handshake {
    cookie: Option<SecretString>,
    same_origin: bool,
    client_address: String,
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    endpoint: web::Data<Endpoint>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let offered = req
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok());
    let Some(protocol) = Protocol::negotiate(offered) else {
        return HttpResponse::BadRequest()
            .body("Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws");
    };
    let (mut response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(err) => return HttpResponse::from_error(err),
    };
    response.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.name()),
    );
    let handshake = Handshake {
        cookie: cookie::session(&req),
        same_origin: cookie::same_origin(&req),
        client_address: req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
    };
    let stream = stream.max_frame_size(endpoint.limits.max_body_bytes);
    actix_web::rt::spawn(serve(
        protocol,
        session,
        stream,
        endpoint.into_inner(),
        state.into_inner(),
        handshake,
    ));
    response
}

/// What one operation sends back to the socket's loop.
enum Output {
    /// A result of operation `id`.
    Next(String, async_graphql::Response),
    /// Operation `id` was refused before it ran (errors only).
    Error(String, Vec<async_graphql::ServerError>),
    /// Operation `id` has no more results.
    Complete(String),
}

/// How the caller authenticated, so keep-alives can check it still holds.
struct Credentials {
    token: SecretString,
}

async fn serve(
    protocol: Protocol,
    mut session: actix_ws::Session,
    mut frames: actix_ws::MessageStream,
    endpoint: std::sync::Arc<Endpoint>,
    state: std::sync::Arc<AppState>,
    handshake: Handshake,
) {
    let (out_tx, mut out_rx) = mpsc::channel::<Output>(256);
    let mut operations: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut caller: Option<(Viewer, Credentials)> = None;
    let mut initialised = false;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.tick().await;

    let close = |code: u16, reason: &str| {
        Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(reason.to_owned()),
        })
    };
    let reason = loop {
        tokio::select! {
            () = &mut init_deadline, if caller.is_none() => {
                break close(4408, "Connection initialisation timeout");
            }
            _ = keep_alive.tick() => {
                if let Some((_, credentials)) = &caller {
                    match viewer::resolve(&state.db, &credentials.token).await {
                        Ok(Some(_)) => {}
                        Ok(None) => break close(4403, "Forbidden: the session ended"),
                        Err(err) => tracing::warn!(error = %err, "could not re-check a subscriber's token"),
                    }
                }
                let ping = match protocol {
                    Protocol::TransportWs => json!({"type": "ping"}),
                    Protocol::Legacy => json!({"type": "ka"}),
                };
                if caller.is_some() && session.text(ping.to_string()).await.is_err() {
                    break None;
                }
            }
            Some(output) = out_rx.recv() => {
                let text = match output {
                    Output::Next(id, response) => next_message(protocol, &id, response),
                    Output::Error(id, errors) => error_message(protocol, &id, errors),
                    Output::Complete(id) => {
                        operations.remove(&id);
                        json!({"type": "complete", "id": id})
                    }
                };
                if session.text(text.to_string()).await.is_err() {
                    break None;
                }
            }
            frame = frames.next() => {
                let text = match frame {
                    Some(Ok(Frame::Text(text))) => text.to_string(),
                    Some(Ok(Frame::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() { break None; }
                        continue;
                    }
                    // The closing handshake echoes the client's code.
                    Some(Ok(Frame::Close(reason))) => break reason,
                    None => break None,
                    Some(Ok(Frame::Binary(_))) => break close(4400, "Binary messages are not supported"),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) => break close(4400, "Invalid frame"),
                };
                let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(&text) else {
                    break close(4400, "Invalid message received");
                };
                let kind = message.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
                match (protocol, kind.as_str()) {
                    (_, "connection_init") => {
                        if initialised {
                            break close(4429, "Too many initialisation requests");
                        }
                        initialised = true;
                        let payload = message.remove("payload").unwrap_or(Value::Null);
                        match authenticate(&state, &handshake, &payload).await {
                            Ok(found) => {
                                caller = Some(found);
                                if session.text(json!({"type": "connection_ack"}).to_string()).await.is_err() {
                                    break None;
                                }
                                if protocol == Protocol::Legacy
                                    && session.text(json!({"type": "ka"}).to_string()).await.is_err() {
                                    break None;
                                }
                            }
                            Err(refusal) => {
                                if protocol == Protocol::Legacy {
                                    let error = json!({"type": "connection_error", "payload": {"message": refusal.1}});
                                    let _ = session.text(error.to_string()).await;
                                }
                                break close(refusal.0, refusal.1);
                            }
                        }
                    }
                    (Protocol::TransportWs, "ping") => {
                        let mut pong = json!({"type": "pong"});
                        if let Some(payload) = message.remove("payload") {
                            pong["payload"] = payload;
                        }
                        if session.text(pong.to_string()).await.is_err() { break None; }
                    }
                    (Protocol::TransportWs, "pong") => {}
                    (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
                        let Some((viewer, _)) = &caller else {
                            break close(4401, "Unauthorized");
                        };
                        let Some(id) = message.get("id").and_then(Value::as_str).map(str::to_owned) else {
                            break close(4400, "Invalid message received: id is missing");
                        };
                        if operations.get(&id).is_some_and(|op| !op.is_finished()) {
                            if protocol == Protocol::TransportWs {
                                break close(4409, &format!("Subscriber for {id} already exists"));
                            }
                            continue;
                        }
                        if operations.len() >= MAX_OPERATIONS {
                            operations.retain(|_, op| !op.is_finished());
                        }
                        if operations.len() >= MAX_OPERATIONS {
                            let error = async_graphql::ServerError::new(
                                format!("at most {MAX_OPERATIONS} operations per connection"), None);
                            let _ = out_tx.send(Output::Error(id, vec![error])).await;
                            continue;
                        }
                        let payload = message.remove("payload").unwrap_or(Value::Null);
                        let context = RequestContext {
                            viewer: Some(viewer.clone()),
                            client_address: handshake.client_address.clone(),
                        };
                        let task = tokio::spawn(run_operation(
                            endpoint.clone(),
                            id.clone(),
                            payload,
                            context,
                            out_tx.clone(),
                        ));
                        operations.insert(id, task);
                    }
                    (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                        let id = message.get("id").and_then(Value::as_str).unwrap_or_default();
                        if let Some(op) = operations.remove(id) {
                            op.abort();
                            if protocol == Protocol::Legacy
                                && session.text(json!({"type": "complete", "id": id}).to_string()).await.is_err() {
                                break None;
                            }
                        }
                    }
                    (Protocol::Legacy, "connection_terminate") => break None,
                    _ => break close(4400, &format!("Invalid message received: unknown type {kind:?}")),
                }
            }
        }
    };
    for (_, op) in operations {
        op.abort();
    }
    let _ = session.close(reason).await;
}

/// Who `connection_init` names: `(close code, reason)` when nobody acceptable.
async fn authenticate(
    state: &AppState,
    handshake: &Handshake,
    payload: &Value,
) -> Result<(Viewer, Credentials), (u16, &'static str)> {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| payload.get(*n).and_then(Value::as_str))
            .map(str::to_owned)
    };
    let forbidden = (4403, "Forbidden");
    if let Some(header) = field(&["authorization", "Authorization"]) {
        let token = viewer::bearer(Some(&header)).ok_or(forbidden)?;
        return match viewer::resolve(&state.db, &token).await {
            Ok(Some(viewer)) => Ok((viewer, Credentials { token })),
            Ok(None) => Err(forbidden),
            Err(err) => {
                tracing::error!(error = %err, "could not resolve a subscriber's token");
                Err((4500, "Internal error"))
            }
        };
    }
    if let Some(csrf) = field(&["csrfToken"]) {
        let Some(token) = handshake.cookie.clone() else {
            return Err((4401, "Unauthorized"));
        };
        if !cookie::from_our_page(&token, handshake.same_origin, Some(&csrf)) {
            return Err(forbidden);
        }
        return match viewer::resolve(&state.db, &token).await {
            Ok(Some(viewer)) => Ok((viewer, Credentials { token })),
            Ok(None) => Err(forbidden),
            Err(err) => {
                tracing::error!(error = %err, "could not resolve a subscriber's session");
                Err((4500, "Internal error"))
            }
        };
    }
    Err((4401, "Unauthorized"))
}

/// Parses, limits and runs one operation, sending its results to the socket's loop.
async fn run_operation(
    endpoint: std::sync::Arc<Endpoint>,
    id: String,
    payload: Value,
    context: RequestContext,
    out: mpsc::Sender<Output>,
) {
    let refuse = |message: String| {
        let error = async_graphql::ServerError::new(message, None);
        Output::Error(id.clone(), vec![error])
    };
    let Value::Object(mut payload) = payload else {
        let _ = out.send(refuse("payload must be an object".into())).await;
        return;
    };
    let Some(Value::String(query)) = payload.remove("query") else {
        let _ = out
            .send(refuse("payload.query must be a string".into()))
            .await;
        return;
    };
    let variables = match payload.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            let _ = out.send(refuse("variables must be an object".into())).await;
            return;
        }
    };
    let document = match limits::parse_within(&query, &endpoint.limits) {
        Ok(document) => document,
        Err(refused) => {
            let _ = out.send(refuse(refused.to_string())).await;
            return;
        }
    };
    let mut request = async_graphql::Request::new(query)
        .variables(Variables::from_json(Value::Object(variables)))
        .data(context);
    if let Some(Value::String(name)) = payload.remove("operationName") {
        request = request.operation_name(name);
    }
    request.set_parsed_query(document);
    let mut responses = endpoint.schema.execute_stream(request);
    let mut first = true;
    while let Some(response) = responses.next().await {
        // A document that fails validation never runs: an `error` message, not a result.
        let refused = first
            && response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        first = false;
        let output = if refused {
            Output::Error(id.clone(), response.errors)
        } else {
            Output::Next(id.clone(), response)
        };
        if out.send(output).await.is_err() {
            return;
        }
        if refused {
            return;
        }
    }
    let _ = out.send(Output::Complete(id)).await;
}

fn errors_json(errors: Vec<async_graphql::ServerError>) -> Value {
    let errors: Vec<_> = errors.into_iter().map(sanitize).collect();
    serde_json::to_value(errors).unwrap_or(Value::Null)
}

fn next_message(protocol: Protocol, id: &str, response: async_graphql::Response) -> Value {
    let mut payload = Map::new();
    payload.insert(
        "data".into(),
        serde_json::to_value(&response.data).unwrap_or(Value::Null),
    );
    if !response.errors.is_empty() {
        payload.insert("errors".into(), errors_json(response.errors));
    }
    let kind = match protocol {
        Protocol::TransportWs => "next",
        Protocol::Legacy => "data",
    };
    json!({"type": kind, "id": id, "payload": payload})
}

fn error_message(protocol: Protocol, id: &str, errors: Vec<async_graphql::ServerError>) -> Value {
    let errors = errors_json(errors);
    match protocol {
        Protocol::TransportWs => json!({"type": "error", "id": id, "payload": errors}),
        // The legacy protocol's `error` carries one error object.
        Protocol::Legacy => {
            let first = errors
                .as_array()
                .and_then(|all| all.first().cloned())
                .unwrap_or(Value::Null);
            json!({"type": "error", "id": id, "payload": first})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modern_protocol_wins_the_negotiation() {
        assert_eq!(
            Protocol::negotiate(Some("graphql-ws, graphql-transport-ws")),
            Some(Protocol::TransportWs)
        );
        assert_eq!(
            Protocol::negotiate(Some("graphql-ws")),
            Some(Protocol::Legacy)
        );
        assert_eq!(Protocol::negotiate(Some("chat")), None);
        assert_eq!(Protocol::negotiate(None), None);
    }
}
