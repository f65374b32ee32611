//! Deleting a connection keeps its repositories (DETACHED, scanning off) and their findings;
//! connecting the same scope again re-attaches them.
//!
//! The apps here run no job workers: the repositories are fixtures, and a discovery running
//! meanwhile would race the assertions over them and their connection.

use crate::connections_gitlab::CREATE_GITLAB;
use crate::fixtures;
use crate::helpers::{Backend, spawn_api_only};
use crate::on_both_backends;
use crate::providers::*;
use entities::{Provider, RepositoryState};
use entities::{finding, repository};
use jobs::queue::Trigger;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::json;

const REPOS: &str =
    "{ repositories(first: 10) { totalCount edges { node { id name state scanEnabled
  connection { id } findings { totalCount edges { node { title severity line } } } } } } }";

async fn deleting_a_connection_keeps_repositories_and_findings_and_re_adding_reattaches(
    backend: Backend,
) {
    let gitlab = healthy_gitlab().await;
    let uri = gitlab.uri();
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = uri).await;
    let owner = app.owner().await;
    let input = json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}});
    let created = app
        .graphql(Some(&owner.token), CREATE_GITLAB, input.clone())
        .await;
    let conn_id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = fixtures::connection_row(&app.state.db, &conn_id).await;
    let api_repo = fixtures::repository(&app.state.db, &conn, "101", "api").await;
    let web_repo = fixtures::repository(&app.state.db, &conn, "102", "web").await;
    fixtures::finding(&app.state.db, &api_repo).await;
    // One repository was gone upstream, and the user had switched scanning off on the other:
    // both facts must survive a delete and re-add.
    let mut gone: repository::ActiveModel = web_repo.into();
    gone.state = Set(RepositoryState::Gone);
    gone.update(&app.state.db).await.unwrap();
    let mut quiet: repository::ActiveModel = api_repo.clone().into();
    quiet.scan_enabled = Set(false);
    quiet.update(&app.state.db).await.unwrap();

    let deleted = app
        .graphql(Some(&owner.token), "mutation($id: ID!) { deleteConnection(input: {id: $id}) { deletedConnectionId userErrors { code } } }", json!({"id": conn_id}))
        .await;
    assert_eq!(
        deleted["data"]["deleteConnection"]["deletedConnectionId"],
        conn_id.as_str()
    );

    let after = app.graphql(Some(&owner.token), REPOS, json!({})).await;
    let repos = &after["data"]["repositories"];
    assert_eq!(repos["totalCount"], 2, "{after}");
    for edge in repos["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["state"], "DETACHED");
        assert_eq!(edge["node"]["scanEnabled"], false);
        assert_eq!(edge["node"]["connection"], serde_json::Value::Null);
    }
    let api_node = repos["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == "api")
        .unwrap();
    assert_eq!(api_node["node"]["findings"]["totalCount"], 1);
    assert_eq!(api_node["node"]["findings"]["edges"][0]["node"]["line"], 42);
    assert_eq!(
        finding::Entity::find().count(&app.state.db).await.unwrap(),
        1
    );
    let gone = app
        .graphql(
            Some(&owner.token),
            "query($id: ID!) { connection(id: $id) { id } }",
            json!({"id": conn_id}),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&gone), "NOT_FOUND");

    // The same scope, connected again: the same repository rows come back.
    let again = app.graphql(Some(&owner.token), CREATE_GITLAB, input).await;
    let new_id = again["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_id, conn_id);
    let reattached = app.graphql(Some(&owner.token), REPOS, json!({})).await;
    let edges = reattached["data"]["repositories"]["edges"]
        .as_array()
        .unwrap();
    for edge in edges {
        assert_eq!(edge["node"]["connection"]["id"], new_id.as_str());
    }
    let by_name =
        |name: &str| edges.iter().find(|e| e["node"]["name"] == name).unwrap()["node"].clone();
    assert_eq!(
        (
            by_name("api")["state"].clone(),
            by_name("api")["scanEnabled"].clone()
        ),
        (json!("ACTIVE"), json!(false))
    );
    assert_eq!(
        (
            by_name("web")["state"].clone(),
            by_name("web")["scanEnabled"].clone()
        ),
        (json!("GONE"), json!(true))
    );
    assert_eq!(
        repository::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        2
    );
    let count = app
        .graphql(
            Some(&owner.token),
            "query($id: ID!) { connection(id: $id) { repositoryCount } }",
            json!({"id": new_id}),
        )
        .await;
    assert_eq!(
        count["data"]["connection"]["repositoryCount"], 1,
        "GONE repositories are not counted"
    );
}

async fn repositories_paginate_with_cursors_and_filter(backend: Backend) {
    let gitlab = healthy_gitlab().await;
    let uri = gitlab.uri();
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = uri).await;
    let owner = app.owner().await;
    let created = app
        .graphql(
            Some(&owner.token),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}}),
        )
        .await;
    let conn_id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = fixtures::connection_row(&app.state.db, &conn_id).await;
    for (i, name) in ["alpha", "beta", "gamma", "delta", "epsilon"]
        .iter()
        .enumerate()
    {
        fixtures::repository(&app.state.db, &conn, &i.to_string(), name).await;
    }
    let page = "query($after: String) { repositories(first: 2, after: $after) { totalCount
      pageInfo { hasNextPage endCursor } edges { node { name } } } }";
    let mut names = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let body = app
            .graphql(Some(&owner.token), page, json!({"after": after}))
            .await;
        let repos = &body["data"]["repositories"];
        assert_eq!(repos["totalCount"], 5);
        names.extend(
            repos["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_owned()),
        );
        if repos["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = repos["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["alpha", "beta", "gamma", "delta", "epsilon"]);

    let search = app
        .graphql(
            Some(&owner.token),
            "{ repositories(search: \"ILON\") { edges { node { name topics visibility } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        search["data"]["repositories"]["edges"],
        json!([{"node": {"name": "epsilon", "topics": ["security", "api"], "visibility": "PRIVATE"}}])
    );
    let wildcard = app
        .graphql(
            Some(&owner.token),
            "{ repositories(search: \"%\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(wildcard["data"]["repositories"]["totalCount"], 0);
    let by_state = app
        .graphql(
            Some(&owner.token),
            "{ repositories(state: GONE) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(by_state["data"]["repositories"]["totalCount"], 0);
    for first in [0, 101] {
        let body = app
            .graphql(
                Some(&owner.token),
                "query($f: Int) { repositories(first: $f) { totalCount } }",
                json!({"f": first}),
            )
            .await;
        assert_eq!(crate::helpers::error_code(&body), "BAD_USER_INPUT");
    }
    let bad_cursor = app
        .graphql(
            Some(&owner.token),
            "{ repositories(after: \"nope\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&bad_cursor), "BAD_USER_INPUT");
}

/// No workers run here, so every job stays queued until the deletion.
async fn deleting_a_connection_cancels_its_waiting_jobs_and_no_others(backend: Backend) {
    let fake = tests::fake::FakeCodeHost::start(tests::fake::FakeConfig::default())
        .await
        .unwrap();
    let uri = fake.url();
    let app = spawn_api_only(backend, move |raw| raw.gitlab_url = uri).await;
    let owner = app.owner().await;
    let mut ids = Vec::new();
    for group in ["ghost/mygroup", "ghost/other"] {
        let input = json!({"input": {"groupPath": group, "token": GITLAB_TOKEN}});
        let created = app.graphql(Some(&owner.token), CREATE_GITLAB, input).await;
        let id = created["data"]["createGitLabConnection"]["connection"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned();
        let conn = fixtures::connection_row(&app.state.db, &id).await;
        // Besides the discovery queued at creation: one due later and a metadata refresh.
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        app.state
            .queues
            .discover(Provider::Gitlab, conn.id, Trigger::Schedule, Some(later))
            .await
            .unwrap();
        app.state
            .queues
            .refresh(Provider::Gitlab, conn.id)
            .await
            .unwrap();
        ids.push((id, conn.id));
    }
    let (doomed, doomed_uuid) = &ids[0];
    let (_, kept_uuid) = &ids[1];

    let deleted = app
        .graphql(
            Some(&owner.token),
            "mutation($id: ID!) { deleteConnection(input: {id: $id}) { deletedConnectionId } }",
            json!({"id": doomed}),
        )
        .await;
    assert_eq!(
        deleted["data"]["deleteConnection"]["deletedConnectionId"],
        doomed.as_str()
    );

    // Nothing of the deleted connection is left to cancel; all three of the other's are.
    assert_eq!(app.state.queues.cancel(*doomed_uuid).await.unwrap(), 0);
    assert_eq!(app.state.queues.cancel(*kept_uuid).await.unwrap(), 3);
}

on_both_backends!(
    deleting_a_connection_cancels_its_waiting_jobs_and_no_others,
    deleting_a_connection_keeps_repositories_and_findings_and_re_adding_reattaches,
    repositories_paginate_with_cursors_and_filter,
);
