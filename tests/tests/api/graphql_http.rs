//! GraphQL over HTTP as the spec wants it, over a real socket.

use crate::helpers::{Backend, spawn_app, spawn_app_with};
use crate::on_both_backends;
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &crate::helpers::TestApp, accept: &str, body: &str) -> (u16, String, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

async fn responses_follow_the_accept_header(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = r#"{"query":"{ __typename }"}"#;
    let (status, content_type, body) = post(&app, GRAPHQL_RESPONSE, query).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/graphql-response+json; charset=utf-8")
    );
    assert_eq!(body, json!({"data": {"__typename": "Query"}}));
    let (_, content_type, _) = post(&app, "application/json", query).await;
    assert_eq!(content_type, "application/json; charset=utf-8");
    let (_, content_type, _) = post(&app, "*/*", query).await;
    assert_eq!(content_type, "application/json; charset=utf-8");
    let (status, _, _) = post(&app, "text/html", query).await;
    assert_eq!(status, 406);
}

async fn request_errors_are_4xx_only_under_graphql_response_json(backend: Backend) {
    let app = spawn_app(backend).await;
    for bad in [
        r#"{"query":"{"}"#,
        r#"{"query":"{ noSuchField }"}"#,
        r#"{"query":"query($n: Int!) { __typename }","variables":{"n":"x"}}"#,
    ] {
        let (status, _, body) = post(&app, GRAPHQL_RESPONSE, bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        let (status, _, body) = post(&app, "application/json", bad).await;
        assert_eq!(status, 200, "{bad}");
        assert!(body.get("data").is_none(), "{body}");
    }
    let (status, _, _) = post(&app, "application/json", "{not json").await;
    assert_eq!(status, 400);
    let get_without_query = app
        .client
        .get(format!("{}/graphql?variables=%7B%7D", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(get_without_query.status().as_u16(), 400);
    // Hostile nesting is refused before the parser sees it (it would exhaust the stack).
    let hostile = format!(
        "{{ __typename(a: {}1{}) }}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let (status, _, body) = post(
        &app,
        GRAPHQL_RESPONSE,
        &json!({"query": hostile}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nests"),
        "{body}"
    );
    let (status, _, _) = post(&app, "application/json", r#"{"variables":{}}"#).await;
    assert_eq!(status, 400);
}

async fn get_runs_queries_but_refuses_mutations(backend: Backend) {
    let app = spawn_app(backend).await;
    let ok = app
        .client
        .get(format!("{}/graphql?query=%7B__typename%7D", app.address))
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let mutation = app
        .client
        .get(format!(
            "{}/graphql?query=mutation%7Blogout%7Brevoked%7D%7D",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status().as_u16(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let put = app
        .client
        .put(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 405);
    assert_eq!(put.headers()["allow"], "GET, POST");
}

async fn posts_must_be_json(backend: Backend) {
    let app = spawn_app(backend).await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/json; charset=utf-16"),
    ] {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .body(r#"{"query":"{__typename}"}"#);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        assert_eq!(
            request.send().await.unwrap().status().as_u16(),
            415,
            "{content_type:?}"
        );
    }
}

async fn size_complexity_and_alias_limits_hold(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.max_body_bytes = 2048).await;
    let huge = json!({"query": format!("{{ __typename }} # {}", "x".repeat(4096))}).to_string();
    let (status, content_type, body) = post(&app, GRAPHQL_RESPONSE, &huge).await;
    assert_eq!(status, 413);
    assert!(content_type.starts_with(GRAPHQL_RESPONSE));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too large")
    );

    let aliases: String = (0..40).map(|i| format!("a{i}: __typename ")).collect();
    let (status, _, body) = post(
        &app,
        GRAPHQL_RESPONSE,
        &json!({"query": format!("{{ {aliases} }}")}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{body}"
    );

    let costly = "{ repositories(first: 100) { edges { node { findings(first: 100) { edges { node { title path line detail severity createdAt } } } } } } }";
    let (_, _, body) = post(
        &app,
        GRAPHQL_RESPONSE,
        &json!({"query": costly}).to_string(),
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{body}"
    );
}

/// A query `depth` fields deep, down introspection's `ofType` chain (it nests as deep as asked).
fn nested_query(depth: usize) -> String {
    // `__schema`, `types`, `fields`, `type` and the closing `name` are five of the levels.
    let of_types = depth - 5;
    format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(of_types),
        " }".repeat(of_types)
    )
}

async fn a_query_deeper_than_the_depth_limit_is_refused_and_one_at_the_limit_runs(
    backend: Backend,
) {
    // Introspection is what nests deep enough; PostgreSQL deployments turn it off by default.
    let app = spawn_app_with(backend, |raw| raw.introspection = Some(true)).await;
    let limit = app.settings.graphql.max_depth;

    let (status, _, body) = post(
        &app,
        GRAPHQL_RESPONSE,
        &json!({"query": nested_query(limit)}).to_string(),
    )
    .await;
    assert_eq!((status, &body["errors"]), (200, &Value::Null));
    assert!(body["data"]["__schema"]["types"].is_array());

    let (status, _, body) = post(
        &app,
        GRAPHQL_RESPONSE,
        &json!({"query": nested_query(limit + 1)}).to_string(),
    )
    .await;
    // Only the errors are printed here: a query that ran answers pages of data.
    assert!(
        body.get("data").is_none(),
        "a query deeper than the limit ran (errors: {})",
        body["errors"]
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (
            &body["errors"][0]["extensions"]["code"],
            &body["errors"][0]["message"]
        ),
        (
            &json!("BAD_USER_INPUT"),
            &json!("Query is nested too deep.")
        ),
        "{body}"
    );
}

async fn graphiql_and_health_endpoints_are_served(backend: Backend) {
    // On by default for SQLite only; switched on explicitly so both backends serve it.
    let app = spawn_app_with(backend, |raw| raw.graphiql = Some(true)).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    for path in ["/healthz", "/readyz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let production = spawn_app_with(backend, |raw| {
        raw.graphiql = Some(false);
        raw.introspection = Some(false);
    })
    .await;
    let page = production
        .client
        .get(format!("{}/graphql", production.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(page.status().as_u16(), 200);
    let (_, _, body) = post(
        &production,
        "application/json",
        r#"{"query":"{ __schema { types { name } } }"}"#,
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("introspection"),
        "{body}"
    );
    let (_, _, body) = post(
        &production,
        "application/json",
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert_eq!(body["data"]["__typename"], "Query");
}

on_both_backends!(
    responses_follow_the_accept_header,
    request_errors_are_4xx_only_under_graphql_response_json,
    get_runs_queries_but_refuses_mutations,
    posts_must_be_json,
    size_complexity_and_alias_limits_hold,
    a_query_deeper_than_the_depth_limit_is_refused_and_one_at_the_limit_runs,
    graphiql_and_health_endpoints_are_served,
);
