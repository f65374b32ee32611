//! Credentials: sealed at rest, bound to their row, rotatable, and never returned or logged.

use crate::connections_gitlab::CREATE_GITLAB;
use crate::helpers::{Backend, TestApp, spawn_api_only, spawn_app_with};
use crate::on_both_backends;
use crate::providers::*;
use api::config::{KeySource, RawSettings};
use entities::{KeyringError, SealedSecret, connection};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use tests::eventually;
use wiremock::MockServer;

const ALL_CONNECTION_FIELDS: &str = "{ connections { edges { node { id provider name status statusMessage groupPath
  workspaceId organizationUrl instanceUrl installationId tokenHint repositoryCount lastDiscoveredAt nextDiscoveryAt createdAt } } } }";

/// What happens to the discovery each new connection queues.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Discoveries {
    /// They wait (`tether api`): nothing but the test touches the credentials.
    Wait,
    /// Job workers run them (`tether serve`), with the credentials, as soon as they can.
    Run,
}

/// An app with GitLab, Bitbucket and Azure DevOps fakes, and one connection to each.
async fn app_with_three_connections(
    backend: Backend,
    discoveries: Discoveries,
) -> (TestApp, String, Vec<String>, [MockServer; 3]) {
    let gitlab = healthy_gitlab().await;
    let bitbucket = healthy_bitbucket(&format!("Bearer {BITBUCKET_TOKEN}")).await;
    let azure = healthy_azure().await;
    let (g, b, a) = (gitlab.uri(), bitbucket.uri(), azure.uri());
    let fakes = move |raw: &mut RawSettings| {
        raw.gitlab_url = g;
        raw.bitbucket_api_url = b;
        raw.azure_devops_url = Some(a);
    };
    let app = match discoveries {
        Discoveries::Wait => spawn_api_only(backend, fakes).await,
        Discoveries::Run => spawn_app_with(backend, fakes).await,
    };
    let owner = app.owner().await;
    let mut responses = Vec::new();
    let created = app
        .graphql(
            Some(&owner.token),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "ghost/mygroup", "token": GITLAB_TOKEN}}),
        )
        .await;
    responses.push(created.to_string());
    let created = app
        .graphql(
            Some(&owner.token),
            "mutation($t: String!) { createBitbucketConnection(input: {workspaceId: \"ghost\", token: $t}) { connection { id tokenHint } userErrors { code } } }",
            json!({"t": BITBUCKET_TOKEN}),
        )
        .await;
    responses.push(created.to_string());
    let created = app
        .graphql(
            Some(&owner.token),
            "mutation($t: String!) { createAzureDevOpsConnection(input: {organizationUrl: \"https://dev.azure.com/ghost\", token: $t}) { connection { id tokenHint } userErrors { code } } }",
            json!({"t": AZURE_PAT}),
        )
        .await;
    responses.push(created.to_string());
    (app, owner.token, responses, [gitlab, bitbucket, azure])
}

async fn no_token_ever_appears_in_a_graphql_response(backend: Backend) {
    let (app, session, mut responses, _fakes) =
        app_with_three_connections(backend, Discoveries::Wait).await;
    assert_eq!(
        connection::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .len(),
        3
    );
    responses.push(
        app.graphql(Some(&session), ALL_CONNECTION_FIELDS, json!({}))
            .await
            .to_string(),
    );
    let ids: Vec<String> = connection::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    for body in &responses {
        for secret in [GITLAB_TOKEN, BITBUCKET_TOKEN, AZURE_PAT] {
            assert!(!body.contains(secret), "a token leaked into {body}");
        }
    }
    let hints: Vec<String> = responses
        .iter()
        .filter(|b| b.contains("tokenHint"))
        .cloned()
        .collect();
    assert!(hints.iter().any(|b| b.contains("…9a1b")), "{hints:?}");
}

async fn stored_credentials_are_ciphertext(backend: Backend) {
    let (app, _, _, _fakes) = app_with_three_connections(backend, Discoveries::Wait).await;
    let db = &app.state.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT credential FROM connections",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let stored: String = row.try_get("", "credential").unwrap();
        assert!(stored.starts_with("tv1."), "{stored}");
        for secret in [GITLAB_TOKEN, BITBUCKET_TOKEN, AZURE_PAT] {
            assert!(!stored.contains(secret));
            assert!(!stored.contains(&secret[secret.len() - 8..]));
        }
    }
}

async fn a_ciphertext_moved_to_another_row_does_not_open(backend: Backend) {
    let (app, _, _, _fakes) = app_with_three_connections(backend, Discoveries::Wait).await;
    let rows = connection::Entity::find().all(&app.state.db).await.unwrap();
    let (a, b) = (&rows[0], &rows[1]);
    let sealed_a = a.credential.clone().unwrap();
    let opened = app
        .state
        .keyring
        .open(&sealed_a, connection::credential_context(a.id))
        .unwrap();
    assert!([GITLAB_TOKEN, BITBUCKET_TOKEN, AZURE_PAT].contains(&opened.expose_secret()));
    // Copy A's ciphertext into B's row, as an attacker with database write access could.
    let db = &app.state.db;
    let sql = format!(
        "UPDATE connections SET credential = '{}' WHERE id = {}",
        sealed_a.as_stored(),
        match app.backend {
            Backend::Postgres => format!("'{}'", b.id),
            Backend::Sqlite => format!("X'{}'", b.id.simple()),
        }
    );
    let result = db.execute_unprepared(&sql).await.unwrap();
    assert_eq!(result.rows_affected(), 1);
    let moved = connection::Entity::find_by_id(b.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.credential.as_ref().map(SealedSecret::as_stored),
        Some(sealed_a.as_stored())
    );
    let err = app
        .state
        .keyring
        .open(
            moved.credential.as_ref().unwrap(),
            connection::credential_context(b.id),
        )
        .unwrap_err();
    assert!(matches!(err, KeyringError::Tampered), "{err:?}");
}

async fn key_rotation_keeps_every_credential_readable(backend: Backend) {
    let (app, _, _, _fakes) = app_with_three_connections(backend, Discoveries::Wait).await;
    let KeySource::File(path) = app.settings.keys.clone() else {
        panic!("tests use a key file")
    };
    let old_id = app.state.keyring.primary_id().clone();
    let (ring, report) = api::keys::rotate(&app.state.db, &KeySource::File(path.clone()))
        .await
        .unwrap();
    assert_eq!(report.resealed, 3);
    assert_ne!(ring.primary_id(), &old_id);
    assert_eq!(ring.key_ids().count(), 2);
    let mut opened = Vec::new();
    for row in connection::Entity::find().all(&app.state.db).await.unwrap() {
        let sealed = row.credential.unwrap();
        assert!(ring.is_current(&sealed));
        opened.push(
            ring.open(&sealed, connection::credential_context(row.id))
                .unwrap()
                .expose_secret()
                .to_owned(),
        );
    }
    opened.sort();
    let mut expected = vec![
        GITLAB_TOKEN.to_owned(),
        BITBUCKET_TOKEN.to_owned(),
        AZURE_PAT.to_owned(),
    ];
    expected.sort();
    assert_eq!(opened, expected);
    // A second rotation only re-seals what is not under the newest key (here: everything again).
    let (_, again) = api::keys::rotate(&app.state.db, &KeySource::File(path))
        .await
        .unwrap();
    assert_eq!(again.resealed, 3);
}

/// The connections named by the lines of `logs` whose message is `message`.
fn logged(logs: &str, message: &str) -> HashSet<String> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message)
        .filter_map(|line| line["fields"]["connection"].as_str().map(str::to_owned))
        .collect()
}

async fn tokens_never_reach_the_logs(backend: Backend) {
    // Workers run here: a discovery sends each token upstream and logs how that went.
    let (app, session, _, _fakes) = app_with_three_connections(backend, Discoveries::Run).await;
    // A failing check and a GET with a token in the query string are logged too.
    let failing = app
        .graphql(
            Some(&session),
            CREATE_GITLAB,
            json!({"input": {"groupPath": "other/group", "token": "glpat-NeverLogMe0000"}}),
        )
        .await;
    assert!(failing["data"]["createGitLabConnection"]["userErrors"][0]["code"].is_string());
    let _ = app
        .client
        .get(format!("{}/graphql?query=mutation%7Blogin(input%3A%7Bemail%3A%22a%40b.c%22%2Cpassword%3A%22glpat-NeverLogMe0001%22%7D)%7Btoken%7D%7D", app.address))
        .send()
        .await
        .unwrap();
    // The line, not the run row: the row is marked finished a moment before the line is written.
    eventually(
        "the app to log a finished discovery of each connection",
        Duration::from_secs(30),
        async || logged(&app.logs(), "discovery finished").len() == 3,
    )
    .await;
    // This app's lines only: exactly its three connections.
    let logs = app.logs();
    assert_eq!(logged(&logs, "connection created").len(), 3, "{logs}");
    for secret in [
        GITLAB_TOKEN,
        BITBUCKET_TOKEN,
        AZURE_PAT,
        session.as_str(),
        "glpat-NeverLogMe0000",
        "glpat-NeverLogMe0001",
    ] {
        let line = logs
            .lines()
            .find(|l| l.contains(secret))
            .unwrap_or_default();
        assert!(!logs.contains(secret), "{secret} was logged: {line}");
    }
}

on_both_backends!(
    no_token_ever_appears_in_a_graphql_response,
    stored_credentials_are_ciphertext,
    a_ciphertext_moved_to_another_row_does_not_open,
    key_rotation_keeps_every_credential_readable,
    tokens_never_reach_the_logs,
);
