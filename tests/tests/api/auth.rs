//! Sign-up, login, logout, API tokens, roles.

use crate::helpers::{Backend, error_code, spawn_app};
use crate::on_both_backends;
use chrono::{Duration, Utc};
use entities::api_token;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { user { id email } organization { id name } role } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token user { id email } userErrors { field code message } } }";

fn login_input(email: &str, password: &str) -> Value {
    json!({"input": {"email": email, "password": password}})
}

async fn sign_up_creates_an_owner_with_a_working_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.sign_up("Ada@Example.com", "Analytical Engines").await;
    let body = app.graphql(Some(&account.token), VIEWER, json!({})).await;
    let viewer = &body["data"]["viewer"];
    assert_eq!(viewer["user"]["email"], "ada@example.com");
    assert_eq!(viewer["organization"]["name"], "Analytical Engines");
    assert_eq!(
        viewer["organization"]["id"],
        account.organization_id.as_str()
    );
    assert_eq!(viewer["role"], "OWNER");
}

async fn sign_up_rejects_bad_input_and_taken_emails(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("taken@example.com", "One").await;
    let cases = [
        (
            json!({"email": "taken@example.com", "password": "long enough pw", "organizationName": "Two"}),
            "email",
            "EMAIL_TAKEN",
        ),
        (
            json!({"email": "not-an-email", "password": "long enough pw", "organizationName": "Two"}),
            "email",
            "INVALID_INPUT",
        ),
        (
            json!({"email": "new@example.com", "password": "short", "organizationName": "Two"}),
            "password",
            "INVALID_INPUT",
        ),
        (
            json!({"email": "new@example.com", "password": "long enough pw", "organizationName": "  "}),
            "organizationName",
            "INVALID_INPUT",
        ),
    ];
    for (input, field, code) in cases {
        let body = app
            .graphql(None, "mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { field code } } }", json!({"input": input}))
            .await;
        let payload = &body["data"]["signUp"];
        assert_eq!(payload["token"], Value::Null, "{input}");
        assert_eq!(
            payload["userErrors"],
            json!([{"field": field, "code": code}]),
            "{input}"
        );
    }
}

async fn login_returns_a_new_session_for_the_right_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.sign_up("grace@example.com", "Navy").await;
    let body = app
        .graphql(
            None,
            LOGIN,
            login_input("GRACE@example.com", "correct horse battery"),
        )
        .await;
    let token = body["data"]["login"]["token"].as_str().unwrap();
    assert_ne!(token, account.token);
    assert_eq!(
        body["data"]["login"]["user"]["id"],
        account.user_id.as_str()
    );
    let viewer = app.graphql(Some(token), VIEWER, json!({})).await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["email"],
        "grace@example.com"
    );
}

async fn login_failures_do_not_reveal_whether_the_email_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("known@example.com", "Org").await;
    let wrong_password = app
        .graphql(
            None,
            LOGIN,
            login_input("known@example.com", "wrong password"),
        )
        .await;
    let unknown_email = app
        .graphql(
            None,
            LOGIN,
            login_input("unknown@example.com", "wrong password"),
        )
        .await;
    assert_eq!(wrong_password["data"]["login"]["token"], Value::Null);
    assert_eq!(
        wrong_password["data"]["login"]["userErrors"],
        unknown_email["data"]["login"]["userErrors"]
    );
    assert_eq!(
        wrong_password["data"]["login"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
}

async fn repeated_failed_logins_are_slowed_down(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("target@example.com", "Org").await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let body = app
            .graphql(
                None,
                LOGIN,
                login_input("target@example.com", "guess guess"),
            )
            .await;
        codes.push(
            body["data"]["login"]["userErrors"][0]["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(codes[0], "INVALID_CREDENTIALS");
    assert!(codes.iter().any(|c| c == "RATE_LIMITED"), "{codes:?}");
    // Even the right password waits its turn while the email is throttled.
    let body = app
        .graphql(
            None,
            LOGIN,
            login_input("target@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(
        body["data"]["login"]["userErrors"][0]["code"],
        "RATE_LIMITED"
    );
}

async fn logout_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.owner().await;
    let body = app
        .graphql(
            Some(&account.token),
            "mutation { logout { revoked userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logout"]["revoked"], true);
    let after = app.graphql(Some(&account.token), VIEWER, json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
}

async fn api_tokens_are_shown_once_work_and_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.owner().await;
    let body = app
        .graphql(
            Some(&account.token),
            "mutation { createApiToken(input: {name: \"ci\", expiresInDays: 30}) { token apiToken { id name kind expiresAt } userErrors { code } } }",
            json!({}),
        )
        .await;
    let payload = &body["data"]["createApiToken"];
    let token = payload["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tth_"));
    assert_eq!(payload["apiToken"]["kind"], "API");
    let id = payload["apiToken"]["id"].as_str().unwrap().to_owned();

    let listed = app
        .graphql(Some(&token), "{ apiTokens { id name } }", json!({}))
        .await;
    assert_eq!(
        listed["data"]["apiTokens"],
        json!([{"id": id, "name": "ci"}])
    );
    assert!(!listed.to_string().contains(&token));

    let revoked = app
        .graphql(
            Some(&account.token),
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { revokedTokenId } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        revoked["data"]["revokeApiToken"]["revokedTokenId"],
        id.as_str()
    );
    assert_eq!(
        error_code(&app.graphql(Some(&token), VIEWER, json!({})).await),
        "UNAUTHENTICATED"
    );
}

async fn api_token_lifetimes_are_bounded(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.owner().await;
    for days in [0, 366] {
        let body = app
            .graphql(Some(&account.token), "mutation($d: Int) { createApiToken(input: {name: \"x\", expiresInDays: $d}) { token userErrors { field code } } }", json!({"d": days}))
            .await;
        assert_eq!(
            body["data"]["createApiToken"]["userErrors"],
            json!([{"field": "expiresInDays", "code": "INVALID_INPUT"}])
        );
    }
}

async fn expired_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.owner().await;
    for row in api_token::Entity::find().all(&app.state.db).await.unwrap() {
        let mut active: api_token::ActiveModel = row.into();
        active.expires_at = Set(Utc::now() - Duration::minutes(1));
        active.update(&app.state.db).await.unwrap();
    }
    assert_eq!(
        error_code(&app.graphql(Some(&account.token), VIEWER, json!({})).await),
        "UNAUTHENTICATED"
    );
}

async fn requests_without_a_valid_token_are_unauthenticated(backend: Backend) {
    let app = spawn_app(backend).await;
    for token in [None, Some("tth_not-a-real-token")] {
        for query in [
            VIEWER,
            "{ connections { totalCount } }",
            "{ repositories { totalCount } }",
        ] {
            let body = app.graphql(token, query, json!({})).await;
            assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}");
        }
    }
}

async fn members_read_but_only_admins_manage_connections_and_owners_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.owner().await;
    let member = app.sign_up("member@example.com", "Their own org").await;
    let admin = app.sign_up("admin@example.com", "Another org").await;
    let add = "mutation($email: String!, $role: Role!) { addMember(input: {email: $email, role: $role}) { role userErrors { code } } }";
    for (email, role) in [
        ("member@example.com", "MEMBER"),
        ("admin@example.com", "ADMIN"),
    ] {
        let body = app
            .graphql(
                Some(&owner.token),
                add,
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(body["data"]["addMember"]["role"], role);
    }
    let again = app
        .graphql(
            Some(&owner.token),
            add,
            json!({"email": "member@example.com", "role": "ADMIN"}),
        )
        .await;
    assert_eq!(
        again["data"]["addMember"]["userErrors"][0]["code"],
        "ALREADY_MEMBER"
    );
    let unknown = app
        .graphql(
            Some(&owner.token),
            add,
            json!({"email": "ghost@example.com", "role": "ADMIN"}),
        )
        .await;
    assert_eq!(
        unknown["data"]["addMember"]["userErrors"][0]["code"],
        "USER_NOT_FOUND"
    );

    // Both also own an organization of their own; they log in to the owner's.
    let member_token = token_in(&app, &member.email, &owner.organization_id).await;
    let admin_token = token_in(&app, &admin.email, &owner.organization_id).await;
    let role = app
        .graphql(
            Some(&member_token),
            "{ viewer { role organization { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(role["data"]["viewer"]["role"], "MEMBER");
    assert_eq!(
        role["data"]["viewer"]["organization"]["id"],
        owner.organization_id.as_str()
    );

    let create = "mutation { createGitLabConnection(input: {groupPath: \"-\", token: \"x\"}) { userErrors { code } } }";
    let as_member = app.graphql(Some(&member_token), create, json!({})).await;
    assert_eq!(error_code(&as_member), "FORBIDDEN");
    let as_admin = app.graphql(Some(&admin_token), create, json!({})).await;
    assert_eq!(
        as_admin["data"]["createGitLabConnection"]["userErrors"][0]["code"],
        "INVALID_INPUT"
    );
    let listed = app
        .graphql(
            Some(&member_token),
            "{ connections { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["connections"]["totalCount"], 0);
    let add_as_admin = app
        .graphql(
            Some(&admin_token),
            add,
            json!({"email": "owner2@example.com", "role": "ADMIN"}),
        )
        .await;
    assert_eq!(error_code(&add_as_admin), "FORBIDDEN");
}

/// Logs `email` in to the organization `org`.
async fn token_in(app: &crate::helpers::TestApp, email: &str, org: &str) -> String {
    let body = app
        .graphql(None, LOGIN, json!({"input": {"email": email, "password": "correct horse battery", "organizationId": org}}))
        .await;
    body["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn an_api_token_cannot_mint_more_api_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = app.owner().await;
    let create = "mutation { createApiToken(input: {name: \"ci\"}) { token } }";
    let body = app.graphql(Some(&account.token), create, json!({})).await;
    let api_token = body["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let minted = app.graphql(Some(&api_token), create, json!({})).await;
    assert_eq!(error_code(&minted), "FORBIDDEN");
    assert_eq!(minted["data"]["createApiToken"], Value::Null);
}

on_both_backends!(
    an_api_token_cannot_mint_more_api_tokens,
    sign_up_creates_an_owner_with_a_working_session,
    sign_up_rejects_bad_input_and_taken_emails,
    login_returns_a_new_session_for_the_right_password,
    login_failures_do_not_reveal_whether_the_email_exists,
    repeated_failed_logins_are_slowed_down,
    logout_revokes_the_session,
    api_tokens_are_shown_once_work_and_can_be_revoked,
    api_token_lifetimes_are_bounded,
    expired_tokens_are_refused,
    requests_without_a_valid_token_are_unauthenticated,
    members_read_but_only_admins_manage_connections_and_owners_members,
);
