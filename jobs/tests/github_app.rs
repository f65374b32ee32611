//! The Tether GitHub App's own identity: both PEM forms GitHub issues keys in parse, and the
//! JWT carries the claims GitHub requires (`iat` 60 s in the past for clock drift, `exp` at
//! most ten minutes after it, `iss` = the App id), signed RS256.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jobs::providers::{GitHubApp, GitHubAppCredentials};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use std::io::Write;
use std::process::{Command, Stdio};

/// A throwaway key in the form `args` makes, and its public half.
fn key(args: &[&str]) -> (String, String) {
    let private = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(private.status.success());
    let mut public = Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    public
        .stdin
        .take()
        .unwrap()
        .write_all(&private.stdout)
        .unwrap();
    let public = public.wait_with_output().unwrap();
    (
        String::from_utf8(private.stdout).unwrap(),
        String::from_utf8(public.stdout).unwrap(),
    )
}

#[derive(serde::Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

#[test]
fn pkcs1_and_pkcs8_keys_sign_a_jwt_with_the_claims_github_requires() {
    for (form, args) in [
        ("PKCS#1", &["genrsa", "-traditional", "2048"][..]),
        (
            "PKCS#8",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ][..],
        ),
    ] {
        let (private, public) = key(args);
        let marker = if form == "PKCS#1" {
            "BEGIN RSA PRIVATE KEY"
        } else {
            "BEGIN PRIVATE KEY"
        };
        assert!(private.contains(marker), "{form}");
        let app = GitHubApp::new(&GitHubAppCredentials {
            app_id: "4242".into(),
            private_key: SecretString::from(private),
        })
        .unwrap_or_else(|e| panic!("{form}: {e}"));
        let now = chrono::Utc::now().timestamp();
        let jwt = app.jwt().unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256, "{form}");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&["4242"]);
        let claims = jsonwebtoken::decode::<Claims>(
            &jwt,
            &DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap_or_else(|e| panic!("{form}: {e}"))
        .claims;
        assert!(
            (now - 62..=now - 58).contains(&claims.iat),
            "{form}: iat {}",
            claims.iat
        );
        assert!(claims.exp - claims.iat <= 600, "{form}: exp too late");
        assert!(claims.exp > now, "{form}: already expired");
        assert_eq!(claims.iss, "4242");
    }
}

#[test]
fn a_key_that_is_not_rsa_pem_is_refused_with_its_reason() {
    let err = GitHubApp::new(&GitHubAppCredentials {
        app_id: "1".into(),
        private_key: SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n".to_owned(),
        ),
    })
    .unwrap_err();
    assert!(err.to_string().contains("RSA PEM"), "{err}");
}

#[tokio::test]
async fn concurrent_lookups_on_a_cold_cache_mint_one_installation_token() {
    use jobs::http::{FetchPolicy, HttpClients, LocalBudget, NetworkPolicy};
    use jobs::providers::github::InstallationId;
    use jobs::providers::{RepoRef, Scope};
    use jobs::{Endpoints, Providers};
    use std::sync::Arc;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    Mock::given(method("POST"))
        .and(path("/app/installations/7/access_tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"token": "ghs_once", "expires_at": expires}))
                // Slow enough that every lookup arrives while the first mint is in flight.
                .set_delay(std::time::Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"commit": {"sha": "abc"}})),
        )
        .mount(&server)
        .await;
    let (private, _) = key(&["genrsa", "2048"]);
    let app = GitHubApp::new(&GitHubAppCredentials {
        app_id: "4242".into(),
        private_key: SecretString::from(private),
    })
    .unwrap();
    let endpoints = Endpoints {
        github_api: url::Url::parse(&server.uri()).unwrap(),
        ..Endpoints::default()
    };
    let providers = Providers::new(
        HttpClients::new(NetworkPolicy::default()).unwrap(),
        endpoints,
        Some(Arc::new(app)),
        Arc::new(LocalBudget::default()),
    );
    let http = providers.fetcher("github.test", None, FetchPolicy::default());
    let scope = Scope::Github(InstallationId::parse("7").unwrap());
    let lookups = (0..8).map(|n| {
        let name = format!("o/r{n}");
        let (providers, http, scope) = (&providers, &http, &scope);
        async move {
            let repo = RepoRef {
                external_id: "1",
                full_name: &name,
                default_branch: "main",
                etag: None,
            };
            providers.head_commit(scope, None, http, repo).await
        }
    });
    for answer in futures::future::join_all(lookups).await {
        answer.unwrap();
    }
    // `expect(1)` is checked when the server drops; say it here too.
    let mints = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(mints, 1);
}
