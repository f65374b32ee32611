//! Two connections of one organization whose scopes overlap (a GitLab group, and one of its
//! subgroups, which the group's listing includes): both discover at once without a conflict,
//! the shared repositories are one row each, listed by both; a repository is gone only once
//! both completed a listing without it; and either connection can be deleted while the other
//! keeps its repositories `ACTIVE`.

use crate::fixtures::{self, discover};
use crate::helpers::{Backend, TestApp, spawn_api_only};
use crate::on_both_backends;
use entities::{DiscoveryOutcome, RepositoryState, connection, repository};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::fake::{FakeCodeHost, Provider, Target};

const PARENT: &str = "ghost/platform";
const CHILD: &str = "ghost/platform/payments";
const PARENT_ONLY: usize = 40;
const IN_CHILD: usize = 30;
const TOKEN: &str = "token-of-the-fake-0001";

async fn connect(app: &TestApp, session: &str, group: &str) -> (String, connection::Model) {
    fixtures::connect_gitlab(app, session, group, TOKEN).await
}

/// `(state, connection ids)` of every repository, by full name.
async fn by_name(app: &TestApp, session: &str) -> std::collections::BTreeMap<String, Value> {
    let mut all = std::collections::BTreeMap::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(
                Some(session),
                "query($after: String) { repositories(first: 100, after: $after) { edges { node { fullName state connections { id } connection { id } } } pageInfo { endCursor hasNextPage } } }",
                json!({"after": after}),
            )
            .await;
        let page = &body["data"]["repositories"];
        for edge in page["edges"].as_array().unwrap_or_else(|| panic!("{body}")) {
            let node = &edge["node"];
            let connections: Vec<&Value> = node["connections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| &c["id"])
                .collect();
            // The deprecated field is the first of them.
            assert_eq!(
                node["connection"]["id"],
                connections.first().copied().cloned().unwrap_or(Value::Null)
            );
            let mut ids: Vec<String> = connections
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            all.insert(
                node["fullName"].as_str().unwrap().to_owned(),
                json!({"state": node["state"], "connections": ids}),
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// What `repositories(connectionId:)` and `Connection.repositoryCount` say of `id`.
async fn of_connection(app: &TestApp, session: &str, id: &str) -> (Value, Value) {
    let body = app
        .graphql(
            Some(session),
            "query($id: ID!) { repositories(first: 1, connectionId: $id, state: ACTIVE) { totalCount } node(id: $id) { ... on Connection { repositoryCount } } }",
            json!({"id": id}),
        )
        .await;
    (
        body["data"]["repositories"]["totalCount"].clone(),
        body["data"]["node"]["repositoryCount"].clone(),
    )
}

async fn overlapping_scopes_share_repositories_and_either_can_be_deleted(backend: Backend) {
    for delete_the_group_first in [false, true] {
        let fake = FakeCodeHost::with_repos(0).await.unwrap();
        fake.set_repos(Provider::Gitlab, PARENT, PARENT_ONLY);
        fake.set_repos(Provider::Gitlab, CHILD, IN_CHILD);
        let url = fake.url();
        let app = spawn_api_only(backend, move |raw| raw.gitlab_url = url).await;
        let owner = app.owner().await;
        let session = owner.token.as_str();
        let (parent_id, parent) = connect(&app, session, PARENT).await;
        let (child_id, child) = connect(&app, session, CHILD).await;

        // Both at once: the subgroup's projects are in both listings.
        let (first, second) = tokio::join!(discover(&app, &parent), discover(&app, &child));
        assert_eq!(
            (first.outcome, second.outcome),
            (DiscoveryOutcome::Succeeded, DiscoveryOutcome::Succeeded),
            "{first:?} {second:?}"
        );
        let total = PARENT_ONLY + IN_CHILD;
        assert_eq!(
            repository::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            total as u64,
            "one row per repository"
        );
        assert_eq!(
            first.counters.added + second.counters.added,
            total as i64,
            "each repository was added once: {first:?} {second:?}"
        );
        let repos = by_name(&app, session).await;
        let both = {
            let mut ids = vec![parent_id.clone(), child_id.clone()];
            ids.sort();
            ids
        };
        for (name, repo) in &repos {
            assert_eq!(repo["state"], "ACTIVE", "{name}");
            let expected = if name.starts_with(&format!("{CHILD}/")) {
                json!(both)
            } else {
                json!([parent_id])
            };
            assert_eq!(repo["connections"], expected, "{name}");
        }
        assert_eq!(
            of_connection(&app, session, &parent_id).await,
            (json!(total), json!(total))
        );
        assert_eq!(
            of_connection(&app, session, &child_id).await,
            (json!(IN_CHILD), json!(IN_CHILD))
        );

        // Again: nothing changes, and neither run takes the rows from the other.
        let (first, second) = tokio::join!(discover(&app, &parent), discover(&app, &child));
        assert_eq!(
            (first.counters.unchanged, second.counters.unchanged),
            (total as i64, IN_CHILD as i64)
        );
        assert!(!first.counters.changed() && !second.counters.changed());

        // Removed upstream: gone only once both listed without it.
        let removed = fake
            .remove(Provider::Gitlab, CHILD, Target::Index(0))
            .unwrap();
        let removed_name = format!("{CHILD}/{}", removed.name);
        let report = discover(&app, &child).await;
        assert_eq!(report.counters.gone, 0, "the group still lists it");
        assert_eq!(
            by_name(&app, session).await[&removed_name],
            json!({"state": "ACTIVE", "connections": [parent_id]})
        );
        let report = discover(&app, &parent).await;
        assert_eq!(report.counters.gone, 1);
        assert_eq!(by_name(&app, session).await[&removed_name]["state"], "GONE");
        assert_eq!(
            of_connection(&app, session, &child_id).await,
            (json!(IN_CHILD - 1), json!(IN_CHILD - 1))
        );

        let delete = |id: String| {
            let app = &app;
            async move {
                let body = app
                    .graphql(
                        Some(session),
                        "mutation($id: ID!) { deleteConnection(input: {id: $id}) { deletedConnectionId userErrors { code } } }",
                        json!({"id": id}),
                    )
                    .await;
                assert_eq!(
                    body["data"]["deleteConnection"]["deletedConnectionId"], id,
                    "{body}"
                );
            }
        };
        let states = |repos: &std::collections::BTreeMap<String, Value>, state: &str| {
            repos.values().filter(|r| r["state"] == state).count()
        };
        if delete_the_group_first {
            delete(parent_id.clone()).await;
            let repos = by_name(&app, session).await;
            // The subgroup's stay ACTIVE under it; the group's own have no connection left.
            assert_eq!(states(&repos, "ACTIVE"), IN_CHILD - 1, "{repos:?}");
            assert_eq!(states(&repos, "DETACHED"), PARENT_ONLY);
            assert_eq!(repos[&removed_name]["state"], "GONE");
            for (name, repo) in &repos {
                if name.starts_with(&format!("{CHILD}/")) {
                    assert_eq!(repo["connections"], json!([child_id]), "{name}");
                }
            }
            assert_eq!(
                of_connection(&app, session, &child_id).await,
                (json!(IN_CHILD - 1), json!(IN_CHILD - 1))
            );
            // A discovery of what is left still works and changes nothing.
            let report = discover(&app, &child).await;
            assert_eq!(report.outcome, DiscoveryOutcome::Succeeded);
            assert!(!report.counters.changed(), "{report:?}");
        } else {
            delete(child_id.clone()).await;
            let repos = by_name(&app, session).await;
            // The group lists every one of them: all stay ACTIVE under it.
            assert_eq!(states(&repos, "ACTIVE"), total - 1, "{repos:?}");
            assert_eq!(repos[&removed_name]["state"], "GONE");
            for repo in repos.values().filter(|r| r["state"] == "ACTIVE") {
                assert_eq!(repo["connections"], json!([parent_id]));
            }
            let report = discover(&app, &parent).await;
            assert_eq!(report.outcome, DiscoveryOutcome::Succeeded);
            assert!(!report.counters.changed(), "{report:?}");
        }
        // Deleting the other one detaches the rest; the gone one remembers it was gone.
        delete(if delete_the_group_first {
            child_id.clone()
        } else {
            parent_id.clone()
        })
        .await;
        let repos = by_name(&app, session).await;
        assert_eq!(states(&repos, "DETACHED"), total);
        let row = repository::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.full_name == removed_name)
            .unwrap();
        assert_eq!(row.detached_state, Some(RepositoryState::Gone));

        // A wider scope lists them again: ACTIVE, scanning as they were before they were
        // detached; the one gone upstream stays detached.
        let (_, wider) = connect(&app, session, "ghost").await;
        let report = discover(&app, &wider).await;
        assert_eq!(report.outcome, DiscoveryOutcome::Succeeded, "{report:?}");
        let rows = repository::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), total);
        for row in rows {
            let expected = if row.full_name == removed_name {
                (RepositoryState::Detached, false)
            } else {
                (RepositoryState::Active, true)
            };
            assert_eq!((row.state, row.scan_enabled), expected, "{}", row.full_name);
        }
        fake.stop().await;
    }
}

on_both_backends!(overlapping_scopes_share_repositories_and_either_can_be_deleted);
