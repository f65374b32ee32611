//! GraphQL over HTTP, our own way (the stock responder breaks the spec): POST with JSON, GET for
//! queries only (405 for mutations), the response type negotiated from `Accept`, request errors
//! as 4xx under `application/graphql-response+json`, bodies bounded in size and documents held to
//! [`limits`](super::limits).

use super::limits;
use super::media::{ResponseType, is_json_utf8, negotiate, wants_html};
use crate::auth::{cookie, viewer};
use crate::config::GraphqlLimits;
use crate::graphql::TetherSchema;
use crate::graphql::context::RequestContext;
use crate::graphql::errors::{code, sanitize};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, ALLOW, AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Variables;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use futures::StreamExt;
use serde_json::{Map, Value, json};

/// The parts of a GraphQL request, checked for shape.
struct Params {
    query: String,
    variables: Map<String, Value>,
    operation_name: Option<String>,
}

fn header(headers: &HeaderMap, name: actix_web::http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A response with only `errors` (no `data`): the request never reached execution.
fn request_error(response_type: ResponseType, status: StatusCode, message: &str) -> HttpResponse {
    let status = match response_type {
        ResponseType::GraphqlResponse => status,
        // Under application/json a well-formed HTTP request is answered 200, except for bodies
        // that are not JSON at all (400 is what clients of the legacy type expect there).
        ResponseType::Json if status == StatusCode::BAD_REQUEST => StatusCode::OK,
        ResponseType::Json => status,
    };
    respond(
        response_type,
        status,
        &json!({"errors": [{"message": message, "extensions": {"code": code::BAD_USER_INPUT}}]}),
    )
}

/// A request that is not a GraphQL request at all (bad JSON, missing query): 400 whatever the
/// response type.
fn malformed(response_type: ResponseType, message: &str) -> HttpResponse {
    respond(
        response_type,
        StatusCode::BAD_REQUEST,
        &json!({"errors": [{"message": message, "extensions": {"code": code::BAD_USER_INPUT}}]}),
    )
}

fn respond(response_type: ResponseType, status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, response_type.header()))
        .body(body.to_string())
}

fn not_acceptable() -> HttpResponse {
    HttpResponse::NotAcceptable()
        .insert_header((CONTENT_TYPE, ResponseType::Json.header()))
        .body(
            json!({"errors": [{"message": "Accept must allow application/graphql-response+json or application/json",
                               "extensions": {"code": code::BAD_USER_INPUT}}]})
            .to_string(),
        )
}

/// Anything but GET and POST.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((ALLOW, "GET, POST"))
        .finish()
}

fn object_param(value: Option<Value>, name: &str) -> Result<Map<String, Value>, String> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!("{name} must be an object")),
    }
}

fn params_from_json(body: Value) -> Result<Params, String> {
    let Value::Object(mut body) = body else {
        return Err("the request body must be a JSON object".into());
    };
    let query = match body.remove("query") {
        Some(Value::String(q)) => q,
        None | Some(Value::Null) => return Err("query is missing".into()),
        Some(_) => return Err("query must be a string".into()),
    };
    let operation_name = match body.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("operationName must be a string".into()),
    };
    let variables = object_param(body.remove("variables"), "variables")?;
    object_param(body.remove("extensions"), "extensions")?;
    Ok(Params {
        query,
        variables,
        operation_name,
    })
}

fn params_from_query_string(query_string: &str) -> Result<Params, String> {
    let mut body = Map::new();
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" if !value.is_empty() => serde_json::from_str(&value)
                .map_err(|_| format!("{key} must be a JSON-encoded object"))?,
            "query" | "operationName" => Value::String(value.into_owned()),
            _ => continue,
        };
        body.insert(key.into_owned(), value);
    }
    params_from_json(Value::Object(body))
}

fn selected_operation(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    }
}

/// Shared handler state.
pub struct Endpoint {
    /// The schema.
    pub schema: TetherSchema,
    /// Limits and switches.
    pub limits: GraphqlLimits,
}

/// `GET /graphql`: subscriptions over WebSocket, queries from the query string, or GraphiQL for
/// browsers.
pub async fn get(
    req: HttpRequest,
    body: web::Payload,
    endpoint: web::Data<Endpoint>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if super::subscriptions::is_upgrade(&req) {
        return super::subscriptions::upgrade(req, body, endpoint, state).await;
    }
    let accept = header(req.headers(), ACCEPT);
    let has_query =
        url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "query");
    if !has_query && endpoint.limits.graphiql && wants_html(accept) {
        return super::assets::graphiql();
    }
    let Some(response_type) = negotiate(accept) else {
        return not_acceptable();
    };
    match params_from_query_string(req.query_string()) {
        Ok(params) => execute(&req, &endpoint, &state, response_type, params, true).await,
        // Not a GraphQL request at all: 400 whatever the response type.
        Err(message) => malformed(response_type, &message),
    }
}

/// `POST /graphql` with a JSON body.
pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    endpoint: web::Data<Endpoint>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(response_type) = negotiate(header(req.headers(), ACCEPT)) else {
        return not_acceptable();
    };
    if !is_json_utf8(header(req.headers(), CONTENT_TYPE)) {
        let message = "Content-Type must be application/json (UTF-8)";
        return respond(
            response_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &json!({"errors": [{"message": message, "extensions": {"code": code::BAD_USER_INPUT}}]}),
        );
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return malformed(response_type, "the request body could not be read");
        };
        if body.len() + chunk.len() > endpoint.limits.max_body_bytes {
            let message = "the request body is too large";
            return request_error(response_type, StatusCode::PAYLOAD_TOO_LARGE, message);
        }
        body.extend_from_slice(&chunk);
    }
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|_| "the request body is not valid JSON".to_owned())
        .and_then(params_from_json);
    match parsed {
        Ok(params) => execute(&req, &endpoint, &state, response_type, params, false).await,
        Err(message) => malformed(response_type, &message),
    }
}

/// The caller: a bearer token, or else (POST only) the dashboard's session cookie with its CSRF
/// token from a page of our own origin; a cookie without them is ignored.
async fn caller(
    req: &HttpRequest,
    state: &AppState,
    is_get: bool,
) -> Result<Option<crate::auth::Viewer>, sea_orm::DbErr> {
    let authorization = header(req.headers(), AUTHORIZATION);
    if authorization.is_some() || is_get {
        return viewer::from_header(&state.db, authorization).await;
    }
    let Some(session) = cookie::session(req) else {
        return Ok(None);
    };
    let csrf = req
        .headers()
        .get(cookie::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    if !cookie::from_our_page(&session, cookie::same_origin(req), csrf) {
        return Ok(None);
    }
    viewer::resolve(&state.db, &session).await
}

async fn execute(
    req: &HttpRequest,
    endpoint: &Endpoint,
    state: &AppState,
    response_type: ResponseType,
    params: Params,
    is_get: bool,
) -> HttpResponse {
    let document = match limits::parse_within(&params.query, &endpoint.limits) {
        Ok(document) => document,
        Err(refused) => {
            return request_error(response_type, StatusCode::BAD_REQUEST, &refused.to_string());
        }
    };
    if is_get
        && let Some(ty) = selected_operation(&document, params.operation_name.as_deref())
        && ty != OperationType::Query
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header((ALLOW, "POST"))
            .insert_header((CONTENT_TYPE, response_type.header()))
            .body(
                json!({"errors": [{"message": "only queries may be sent with GET; use POST",
                                   "extensions": {"code": code::BAD_USER_INPUT}}]})
                .to_string(),
            );
    }

    let viewer = match caller(req, state, is_get).await {
        Ok(viewer) => viewer,
        Err(err) => {
            tracing::error!(error = %err, "could not resolve the bearer token");
            return respond(
                response_type,
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errors": [{"message": "internal error", "extensions": {"code": code::INTERNAL}}]}),
            );
        }
    };
    let client_address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let mut request = async_graphql::Request::new(params.query)
        .variables(Variables::from_json(Value::Object(params.variables)))
        .data(RequestContext {
            viewer,
            client_address,
        });
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    request.set_parsed_query(document);

    let response = endpoint.schema.execute(request).await;
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let errors: Vec<_> = response.errors.into_iter().map(sanitize).collect();
    let mut body = Map::new();
    if !is_request_error {
        body.insert(
            "data".into(),
            serde_json::to_value(&response.data).unwrap_or(Value::Null),
        );
    }
    if !errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(&errors).unwrap_or(Value::Null),
        );
    }
    if !response.extensions.is_empty() {
        body.insert(
            "extensions".into(),
            serde_json::to_value(&response.extensions).unwrap_or(Value::Null),
        );
    }
    let status = match (response_type, is_request_error) {
        (ResponseType::GraphqlResponse, true) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    respond(response_type, status, &Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shapes_are_checked() {
        assert!(params_from_json(json!({"query": "{a}"})).is_ok());
        assert!(params_from_json(json!({"query": "{a}", "variables": null, "operationName": null, "extensions": null})).is_ok());
        for bad in [
            json!([]),
            json!({}),
            json!({"query": 1}),
            json!({"query": "{a}", "variables": []}),
            json!({"query": "{a}", "operationName": 3}),
            json!({"query": "{a}", "extensions": "x"}),
        ] {
            assert!(params_from_json(bad.clone()).is_err(), "{bad}");
        }
        assert!(params_from_query_string("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D").is_ok());
        assert!(params_from_query_string("query=%7Ba%7D&variables=nope").is_err());
    }

    #[test]
    fn the_selected_operation_decides_get_eligibility() {
        let doc = async_graphql::parser::parse_query("query A { x } mutation B { y }").unwrap();
        assert_eq!(
            selected_operation(&doc, Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            selected_operation(&doc, Some("A")),
            Some(OperationType::Query)
        );
        assert_eq!(selected_operation(&doc, None), None);
    }
}
