//! A second organization can neither see nor touch the first one's data: every foreign id
//! answers NOT_FOUND.

use crate::connections_gitlab::CREATE_GITLAB;
use crate::fixtures;
use crate::helpers::{Backend, error_code, spawn_api_only};
use crate::on_both_backends;
use crate::providers::*;
use serde_json::json;

async fn another_organization_cannot_read_or_change_connections_or_repositories(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let uri = gitlab.uri();
    // No job workers: the repository is a fixture, and a discovery running meanwhile would race
    // the assertions over it and its connection.
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = uri).await;
    let alice = app.sign_up("alice@example.com", "Alice Corp").await;
    let mallory = app.sign_up("mallory@example.com", "Mallory Corp").await;

    let created = app
        .graphql(
            Some(&alice.token),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}}),
        )
        .await;
    let conn_id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = fixtures::connection_row(&app.state.db, &conn_id).await;
    let repo = fixtures::repository(&app.state.db, &conn, "101", "api").await;
    let repo_id = {
        let body = app
            .graphql(
                Some(&alice.token),
                "{ repositories { edges { node { id } } } }",
                json!({}),
            )
            .await;
        body["data"]["repositories"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let finding = fixtures::finding(&app.state.db, &repo).await;
    let finding_id = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Finding:{}", finding.id))
    };
    let alice_finding = app
        .graphql(
            Some(&alice.token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": finding_id}),
        )
        .await;
    assert_eq!(alice_finding["data"]["node"]["id"], finding_id.as_str());
    let token_id = {
        let body = app
            .graphql(
                Some(&alice.token),
                "mutation { createApiToken(input: {name: \"x\"}) { apiToken { id } } }",
                json!({}),
            )
            .await;
        body["data"]["createApiToken"]["apiToken"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // Lists are empty for Mallory.
    let lists = app
        .graphql(
            Some(&mallory.token),
            "{ connections { totalCount } repositories { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(lists["data"]["connections"]["totalCount"], 0);
    assert_eq!(lists["data"]["repositories"]["totalCount"], 0);
    let filtered = app
        .graphql(
            Some(&mallory.token),
            "query($c: ID) { repositories(connectionId: $c) { totalCount } }",
            json!({"c": conn_id}),
        )
        .await;
    assert_eq!(filtered["data"]["repositories"]["totalCount"], 0);

    // Every way in by id answers NOT_FOUND.
    let attempts = [
        ("query($id: ID!) { connection(id: $id) { id } }", &conn_id),
        ("query($id: ID!) { node(id: $id) { id } }", &conn_id),
        ("query($id: ID!) { repository(id: $id) { id } }", &repo_id),
        ("query($id: ID!) { node(id: $id) { id } }", &repo_id),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            &alice.organization_id,
        ),
        ("query($id: ID!) { node(id: $id) { id } }", &alice.user_id),
        ("query($id: ID!) { node(id: $id) { id } }", &finding_id),
        ("query($id: ID!) { node(id: $id) { id } }", &token_id),
        (
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { revokedTokenId } }",
            &token_id,
        ),
        (
            "mutation($id: ID!) { syncConnection(input: {id: $id}) { connection { id } } }",
            &conn_id,
        ),
        (
            "mutation($id: ID!) { deleteConnection(input: {id: $id}) { deletedConnectionId } }",
            &conn_id,
        ),
        (
            "mutation($id: ID!) { updateConnectionCredential(input: {id: $id, token: \"glpat-stolen-0000\"}) { connection { id } } }",
            &conn_id,
        ),
    ];
    for (query, id) in attempts {
        let body = app
            .graphql(Some(&mallory.token), query, json!({"id": id}))
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
        assert!(!body.to_string().contains("ghost/mygroup"), "{body}");
    }

    // Alice still has everything.
    let still = app
        .graphql(
            Some(&alice.token),
            "query($id: ID!) { connection(id: $id) { repositoryCount } }",
            json!({"id": conn_id}),
        )
        .await;
    assert_eq!(still["data"]["connection"]["repositoryCount"], 1);
}

on_both_backends!(another_organization_cannot_read_or_change_connections_or_repositories);
