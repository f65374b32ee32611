//! The Tether GitHub App's own identity: an RS256 JWT signed with the app's private key, traded
//! for installation access tokens that are cached until shortly before they expire.

use super::GitHub;
use crate::http::{FetchError, Fetcher};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

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

    /// An installation access token, from the cache or freshly minted.
    pub(super) async fn installation_token(
        &self,
        github: &GitHub,
        installation: i64,
        http: &Fetcher,
    ) -> Result<SecretString, FetchError> {
        if let Some(token) = self.cached(installation) {
            return Ok(token);
        }
        let url = format!(
            "{}/app/installations/{installation}/access_tokens",
            github.api()
        );
        let request = github.request(reqwest::Method::POST, &url, &self.jwt()?);
        let minted: AccessToken = match http.json(request).await {
            Ok((token, _)) => token,
            Err(FetchError::NotFound(_)) => {
                return Err(FetchError::Suspended(format!(
                    "the Tether GitHub App is no longer installed (installation {installation})"
                )));
            }
            Err(FetchError::Unauthorized(_)) => {
                return Err(FetchError::Suspended(format!(
                    "installation {installation} of the Tether GitHub App is suspended or refuses the app"
                )));
            }
            Err(other) => return Err(other),
        };
        let token = SecretString::from(minted.token);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(installation, (token.clone(), minted.expires_at));
        Ok(token)
    }
}
