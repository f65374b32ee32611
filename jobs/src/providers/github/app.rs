//! The Tether GitHub App's own identity: an RS256 JWT signed with the app's private key, traded
//! for installation access tokens that are cached until shortly before they expire.

use super::GitHub;
use crate::http::{FetchError, Fetcher};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Tokens are renewed this long before GitHub's expiry.
const RENEW_BEFORE: chrono::Duration = chrono::Duration::minutes(5);

/// The app's id and private key, from server configuration.
#[derive(Clone)]
pub struct GitHubAppCredentials {
    /// The app id (the JWT issuer).
    pub app_id: String,
    /// The app's PEM private key.
    pub private_key: SecretString,
}

impl fmt::Debug for GitHubAppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubAppCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// The configured private key is not one the app can sign with.
#[derive(Debug, thiserror::Error)]
#[error("the GitHub App private key is not an RSA PEM key: {0}")]
pub struct InvalidAppKey(#[from] jsonwebtoken::errors::Error);

/// The app, ready to sign and to hold installation tokens.
pub struct GitHubApp {
    app_id: String,
    key: EncodingKey,
    tokens: Mutex<HashMap<i64, (SecretString, DateTime<Utc>)>>,
    /// One mint at a time per installation: a refresh asks for a token on 8 branches at
    /// once, and a cold cache must cost one mint, not eight.
    minting: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for GitHubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubApp")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: DateTime<Utc>,
}

impl GitHubApp {
    /// Parses the private key.
    pub fn new(credentials: &GitHubAppCredentials) -> Result<Self, InvalidAppKey> {
        let key = EncodingKey::from_rsa_pem(credentials.private_key.expose_secret().as_bytes())?;
        Ok(Self {
            app_id: credentials.app_id.clone(),
            key,
            tokens: Mutex::new(HashMap::new()),
            minting: Mutex::new(HashMap::new()),
        })
    }

    /// A JWT for the app itself: backdated a minute for clock drift, valid nine (GitHub allows ten).
    pub fn jwt(&self) -> Result<String, FetchError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: &self.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| FetchError::Protocol(format!("could not sign the GitHub App JWT: {e}")))
    }

    fn cached(&self, installation: i64) -> Option<SecretString> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(&installation)
            .filter(|(_, expires)| *expires - RENEW_BEFORE > Utc::now())
            .map(|(token, _)| token.clone())
    }

    /// An installation access token, from the cache or freshly minted. GitHub answers the mint
    /// 401 when it refuses the app's own JWT (wrong app id or key, or a clock far off: the
    /// operator's to fix), 403 when the installation is suspended and 404 when it is gone.
    pub(super) async fn installation_token(
        &self,
        github: &GitHub,
        installation: i64,
        http: &Fetcher,
    ) -> Result<SecretString, FetchError> {
        if let Some(token) = self.cached(installation) {
            return Ok(token);
        }
        let gate = self
            .minting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(installation)
            .or_default()
            .clone();
        let _minting = gate.lock().await;
        // Whoever held the gate before may have minted it meanwhile.
        if let Some(token) = self.cached(installation) {
            return Ok(token);
        }
        let url = format!(
            "{}/app/installations/{installation}/access_tokens",
            github.api()
        );
        let request = github.request(reqwest::Method::POST, &url, &self.jwt()?);
        let response = http.response(request).await?;
        let status = response.status();
        if status.is_success() {
            let minted: AccessToken = http.read_json(response).await?;
            return Ok(self.keep(installation, minted));
        }
        Err(match status {
            StatusCode::UNAUTHORIZED => {
                let body = http.error_json(response).await;
                let said: String = body["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .chars()
                    .take(200)
                    .collect();
                tracing::error!(
                    app_id = %self.app_id,
                    installation,
                    github_said = %said,
                    "GitHub refused the GitHub App's JWT (HTTP 401): the app id or private key is \
                     wrong; check TETHER_GITHUB_APP_ID and TETHER_GITHUB_APP_PRIVATE_KEY_FILE"
                );
                FetchError::AppMisconfigured(format!(
                    "the GitHub App's id or private key is wrong: GitHub refused the app's token \
                     for installation {installation} (HTTP 401); an operator must check \
                     TETHER_GITHUB_APP_ID / TETHER_GITHUB_APP_PRIVATE_KEY_FILE (and this server's clock)"
                ))
            }
            StatusCode::FORBIDDEN => FetchError::Suspended(format!(
                "installation {installation} of the Tether GitHub App is suspended; \
                 unsuspend it on GitHub to resume discovery"
            )),
            StatusCode::NOT_FOUND => FetchError::Suspended(format!(
                "the Tether GitHub App is no longer installed (installation {installation})"
            )),
            other => FetchError::Protocol(format!(
                "{} answered HTTP {} to minting an installation token",
                http.host(),
                other.as_u16()
            )),
        })
    }

    /// Caches a minted token until shortly before it expires.
    fn keep(&self, installation: i64, minted: AccessToken) -> SecretString {
        let token = SecretString::from(minted.token);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(installation, (token.clone(), minted.expires_at));
        token
    }
}
