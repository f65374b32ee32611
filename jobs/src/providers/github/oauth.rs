//! The GitHub App's OAuth web flow, as GitHub documents it: the authorize URL a browser is sent
//! to, trading the returned code (or a refresh token) for a user access token, and reading the
//! user it belongs to. Tokens are secrets from the moment they are read.

use super::{GitHub, GitHubUser};
use crate::http::{FetchError, Fetcher};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use url::Url;

/// The app's OAuth client credentials.
pub struct OAuthClient<'a> {
    /// `client_id`.
    pub id: &'a str,
    /// `client_secret`.
    pub secret: &'a SecretString,
}

/// A user's tokens, as GitHub minted them.
pub struct UserTokens {
    /// The user access token (`ghu_…`).
    pub access_token: SecretString,
    /// When it stops working (`None`: GitHub did not say it expires).
    pub expires_at: Option<DateTime<Utc>>,
    /// The refresh token (`ghr_…`), when the app's user tokens expire.
    pub refresh_token: Option<SecretString>,
    /// When the refresh token stops working.
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserTokens")
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// Why GitHub did not hand out a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// GitHub refused the exchange (`bad_verification_code`, `bad_refresh_token`,
    /// `incorrect_client_credentials`, `redirect_uri_mismatch`, …).
    #[error("GitHub refused the token exchange: {code}")]
    Refused {
        /// GitHub's error code.
        code: String,
    },
    /// The request itself failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// GitHub's answer to a token request: the tokens, or an error document (with status 200).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
    refresh_token_expires_in: Option<i64>,
    error: Option<String>,
}

/// Seconds from `now`, bounded so a hostile number cannot overflow.
fn after(now: DateTime<Utc>, seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds
        .filter(|s| *s > 0)
        .map(|s| now + chrono::Duration::seconds(s.min(10 * 365 * 24 * 3600)))
}

impl GitHub {
    /// Where to send a browser to authorize the app for its user.
    pub fn authorize_url(&self, client_id: &str, redirect_uri: &Url, state: &str) -> Url {
        let mut url = self.web.clone();
        url.set_path("/login/oauth/authorize");
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("state", state);
        url
    }

    /// Where to send a browser to install the app (or request its installation).
    pub fn install_url(&self, slug: &str, state: &str) -> Url {
        let mut url = self.web.clone();
        url.set_path(&format!("/apps/{slug}/installations/new"));
        url.query_pairs_mut().append_pair("state", state);
        url
    }

    async fn token_request(
        &self,
        http: &Fetcher,
        client: &OAuthClient<'_>,
        grant: &[(&str, &str)],
    ) -> Result<UserTokens, OAuthError> {
        let mut url = self.web.clone();
        url.set_path("/login/oauth/access_token");
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", client.id),
            ("client_secret", client.secret.expose_secret()),
        ];
        form.extend_from_slice(grant);
        let request = self
            .clients
            .trusted()
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let (answer, _): (TokenAnswer, _) = http.json(request).await?;
        let now = Utc::now();
        match (answer.access_token, answer.error) {
            (Some(token), None) => Ok(UserTokens {
                access_token: SecretString::from(token),
                expires_at: after(now, answer.expires_in),
                refresh_token: answer.refresh_token.map(SecretString::from),
                refresh_expires_at: after(now, answer.refresh_token_expires_in),
            }),
            (_, error) => Err(OAuthError::Refused {
                code: error.unwrap_or_else(|| "no_access_token".into()),
            }),
        }
    }

    /// Trades the code GitHub sent back to `redirect_uri` for the user's tokens.
    pub async fn exchange_code(
        &self,
        http: &Fetcher,
        client: &OAuthClient<'_>,
        code: &str,
        redirect_uri: &Url,
    ) -> Result<UserTokens, OAuthError> {
        self.token_request(
            http,
            client,
            &[("code", code), ("redirect_uri", redirect_uri.as_str())],
        )
        .await
    }

    /// Trades a refresh token for a new pair (GitHub invalidates the old refresh token).
    pub async fn refresh_user_token(
        &self,
        http: &Fetcher,
        client: &OAuthClient<'_>,
        refresh_token: &SecretString,
    ) -> Result<UserTokens, OAuthError> {
        self.token_request(
            http,
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
            ],
        )
        .await
    }

    /// The user `token` belongs to (`GET /user`).
    pub async fn user(
        &self,
        http: &Fetcher,
        token: &SecretString,
    ) -> Result<GitHubUser, FetchError> {
        let url = format!("{}/user", self.api());
        let request = self.request(reqwest::Method::GET, &url, token.expose_secret());
        http.json(request).await.map(|(user, _)| user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoints;
    use crate::http::{HttpClients, NetworkPolicy};

    #[test]
    fn flow_urls_carry_the_client_and_the_state_on_the_web_host() {
        let endpoints = Endpoints {
            github_web: Url::parse("https://ghe.example.com/").unwrap(),
            ..Endpoints::default()
        };
        let github = GitHub::new(
            HttpClients::new(NetworkPolicy::default()).unwrap(),
            &endpoints,
            None,
        );
        let redirect = Url::parse("https://tether.example.com/auth/github/callback").unwrap();
        let url = github.authorize_url("Iv1.abc", &redirect, "s1.sig");
        assert_eq!(
            url.as_str(),
            "https://ghe.example.com/login/oauth/authorize?client_id=Iv1.abc&redirect_uri=https%3A%2F%2Ftether.example.com%2Fauth%2Fgithub%2Fcallback&state=s1.sig"
        );
        assert_eq!(
            github.install_url("tether-acme", "s2").as_str(),
            "https://ghe.example.com/apps/tether-acme/installations/new?state=s2"
        );
    }

    #[test]
    fn expiries_are_bounded() {
        let now = Utc::now();
        assert_eq!(after(now, None), None);
        assert_eq!(after(now, Some(0)), None);
        assert!(after(now, Some(i64::MAX)).is_some());
    }
}
