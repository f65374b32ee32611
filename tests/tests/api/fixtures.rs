//! Rows inserted directly, so a test states exactly what the database holds without running a
//! discovery; and the shortcuts that run one discovery in the test's own task and read its rows.

use chrono::Utc;
use entities::{
    RepositoryState, Visibility, connection, finding, repository, repository_connection,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use uuid::Uuid;

/// Inserts an active repository listed by `conn`, shaped like a GitLab project in
/// `ghost/mygroup` (whatever `conn`'s provider).
pub async fn repository(
    db: &DatabaseConnection,
    conn: &connection::Model,
    external_id: &str,
    name: &str,
) -> repository::Model {
    let row = repository_row(db, conn, external_id, name).await;
    link(db, conn, &row, true).await;
    row
}

/// Inserts the row of an active repository of `conn`'s scope, linked to no connection.
pub async fn repository_row(
    db: &DatabaseConnection,
    conn: &connection::Model,
    external_id: &str,
    name: &str,
) -> repository::Model {
    let now = Utc::now();
    repository::ActiveModel {
        id: Set(entities::new_id()),
        organization_id: Set(conn.organization_id),
        scope_key: Set(conn.scope_key.clone()),
        provider: Set(conn.provider),
        host: Set(conn.host.clone()),
        external_id: Set(external_id.to_owned()),
        name: Set(name.to_owned()),
        full_name: Set(format!("ghost/mygroup/{name}")),
        web_url: Set(Some(format!("https://gitlab.com/ghost/mygroup/{name}"))),
        clone_url: Set(Some(format!("https://gitlab.com/ghost/mygroup/{name}.git"))),
        default_branch: Set(Some("main".into())),
        visibility: Set(Visibility::Private),
        archived: Set(false),
        disabled: Set(false),
        fork: Set(false),
        language: Set(Some("Rust".into())),
        size_kb: Set(Some(1024)),
        topics: Set(serde_json::json!(["security", "api"])),
        last_pushed_at: Set(Some(now)),
        head_commit_sha: Set(Some("0123456789abcdef0123456789abcdef01234567".into())),
        etag: Set(None),
        state: Set(RepositoryState::Active),
        scan_enabled: Set(true),
        detached_state: Set(None),
        detached_scan_enabled: Set(None),
        first_seen_at: Set(now),
        refreshed_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

/// Records that `conn` lists `repo` (`listed`), or listed it once.
pub async fn link(
    db: &DatabaseConnection,
    conn: &connection::Model,
    repo: &repository::Model,
    listed: bool,
) {
    repository_connection::ActiveModel {
        connection_id: Set(conn.id),
        repository_id: Set(repo.id),
        listed: Set(listed),
        linked_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
}

/// Inserts a finding on `repo`, as the analysis engine would.
pub async fn finding(db: &DatabaseConnection, repo: &repository::Model) -> finding::Model {
    finding::ActiveModel {
        id: Set(entities::new_id()),
        organization_id: Set(repo.organization_id),
        repository_id: Set(repo.id),
        title: Set("Hard-coded credential".into()),
        severity: Set("HIGH".into()),
        path: Set(Some("src/config.rs".into())),
        line: Set(Some(42)),
        detail: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap()
}

/// The connection row behind a global id.
pub async fn connection_row(db: &DatabaseConnection, global_id: &str) -> connection::Model {
    use base64::Engine;
    use sea_orm::EntityTrait;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global_id)
        .unwrap();
    let text = String::from_utf8(decoded).unwrap();
    let id = Uuid::parse_str(text.trim_start_matches("Connection:")).unwrap();
    connection::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

/// Runs one discovery of `conn` now, in the test's own task rather than through the queue (a
/// manual sync only enqueues one), and returns its report; panics if it could not run.
pub async fn discover(
    app: &crate::helpers::TestApp,
    conn: &connection::Model,
) -> jobs::discovery::RunReport {
    match app
        .state
        .discovery
        .run(conn.id, entities::DiscoveryTrigger::Manual)
        .await
        .unwrap()
    {
        jobs::discovery::Outcome::Finished(report) => report,
        other => panic!("discovery did not run: {other:?}"),
    }
}

/// The repositories `conn` has links to (listed or not).
pub async fn rows(
    app: &crate::helpers::TestApp,
    conn: &connection::Model,
) -> Vec<repository::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait};
    repository::Entity::find()
        .join(
            JoinType::InnerJoin,
            repository_connection::Relation::Repository.def().rev(),
        )
        .filter(repository_connection::Column::ConnectionId.eq(conn.id))
        .all(&app.state.db)
        .await
        .unwrap()
}

/// The connections that list `repo`, in the order they first did.
pub async fn listed_by(db: &DatabaseConnection, repo: &repository::Model) -> Vec<Uuid> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    repository_connection::Entity::find()
        .filter(repository_connection::Column::RepositoryId.eq(repo.id))
        .filter(repository_connection::Column::Listed.eq(true))
        .order_by_asc(repository_connection::Column::LinkedAt)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.connection_id)
        .collect()
}

/// Connects the GitLab group `group` with `token` through the API, as `session`'s user; returns
/// its global id and row.
pub async fn connect_gitlab(
    app: &crate::helpers::TestApp,
    session: &str,
    group: &str,
    token: &str,
) -> (String, connection::Model) {
    let body = app
        .graphql(
            Some(session),
            "mutation($input: CreateGitLabConnectionInput!) { createGitLabConnection(input: $input) { connection { id } userErrors { code message } } }",
            serde_json::json!({"input": {"groupPath": group, "token": token}}),
        )
        .await;
    let id = body["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let row = connection_row(&app.state.db, &id).await;
    (id, row)
}
