//! OAuth codes and user tokens of the App's client: single-use codes good for ten minutes,
//! access tokens that expire and refresh tokens that rotate, as GitHub documents them.

use super::world::GithubApp;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// An authorization code is good for ten minutes (GitHub's documented lifetime).
const CODE_LIFETIME: i64 = 600;
/// A user access token lives eight hours unless a test shortens it.
const ACCESS_TOKEN_LIFETIME: i64 = 28_800;
/// A refresh token lives six months.
const REFRESH_TOKEN_LIFETIME: i64 = 15_897_600;

/// A random token with GitHub's prefix (`ghu_`, `ghr_`, `ghs_`) and 36 characters after it.
pub(crate) fn token(prefix: &str) -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{a}{}", &b[..4])
}

/// Proof that a request named the App's client id and secret.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Client<'a> {
    id: &'a str,
}

impl<'a> Client<'a> {
    /// The client, if `id` and `secret` are the App's.
    pub fn of(app: &GithubApp, id: &'a str, secret: &str) -> Result<Self, TokenError> {
        if id == app.client_id && secret == app.client_secret {
            Ok(Self { id })
        } else {
            Err(TokenError::IncorrectClientCredentials)
        }
    }
}

/// The token endpoint's refusals, as GitHub names and words them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    BadVerificationCode,
    IncorrectClientCredentials,
    RedirectUriMismatch,
    BadRefreshToken,
    UnsupportedGrantType,
}

impl TokenError {
    /// `error`.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadVerificationCode => "bad_verification_code",
            Self::IncorrectClientCredentials => "incorrect_client_credentials",
            Self::RedirectUriMismatch => "redirect_uri_mismatch",
            Self::BadRefreshToken => "bad_refresh_token",
            Self::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    /// `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            Self::BadVerificationCode => "The code passed is incorrect or expired.",
            Self::IncorrectClientCredentials => {
                "The client_id and/or client_secret passed are incorrect."
            }
            Self::RedirectUriMismatch => {
                "The redirect_uri MUST match the registered callback URL for this application."
            }
            Self::BadRefreshToken => "The refresh token passed is incorrect or expired.",
            Self::UnsupportedGrantType => "The grant type is not supported.",
        }
    }

    /// `error_uri`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::BadVerificationCode => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
            }
            Self::IncorrectClientCredentials => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"
            }
            Self::RedirectUriMismatch => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#redirect-uri-mismatch"
            }
            Self::BadRefreshToken => {
                "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens"
            }
            Self::UnsupportedGrantType => {
                "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app"
            }
        }
    }
}

/// A new user access token and its refresh token.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_token_expires_in: i64,
}

/// Who a user token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenUser {
    /// Minted here and still good.
    Valid(String),
    /// Minted here but expired, refreshed away or revoked.
    Invalid,
    /// Never minted here (a suite seeded it without the OAuth dance).
    Unknown,
}

#[derive(Clone, Debug)]
struct Code {
    login: String,
    client_id: String,
    redirect_uri: Option<String>,
    expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Grant {
    login: String,
    expires_at: DateTime<Utc>,
    /// Refreshed away: the token no longer works.
    replaced: bool,
}

#[derive(Clone, Debug)]
struct Refresh {
    login: String,
    access_token: String,
    expires_at: DateTime<Utc>,
}

/// Codes, access tokens and refresh tokens issued so far.
#[derive(Debug)]
pub(crate) struct Tokens {
    codes: HashMap<String, Code>,
    grants: HashMap<String, Grant>,
    refreshes: HashMap<String, Refresh>,
    /// Seconds a new user access token lives.
    pub access_token_lifetime: i64,
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            codes: HashMap::new(),
            grants: HashMap::new(),
            refreshes: HashMap::new(),
            access_token_lifetime: ACCESS_TOKEN_LIFETIME,
        }
    }
}

impl Tokens {
    /// A single-use code for `login`, remembering the `redirect_uri` the authorization used.
    pub fn issue_code(
        &mut self,
        now: DateTime<Utc>,
        login: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> String {
        let code = uuid::Uuid::new_v4().simple().to_string()[..20].to_owned();
        self.codes.insert(
            code.clone(),
            Code {
                login: login.to_owned(),
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.map(str::to_owned),
                expires_at: now + Duration::seconds(CODE_LIFETIME),
            },
        );
        code
    }

    /// Exchanges a code for a token pair; the code works once.
    pub fn exchange_code(
        &mut self,
        now: DateTime<Utc>,
        client: Client<'_>,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Issued, TokenError> {
        let found = self
            .codes
            .get(code)
            .filter(|c| c.client_id == client.id && c.expires_at > now)
            .cloned()
            .ok_or(TokenError::BadVerificationCode)?;
        if let (Some(given), Some(authorized)) = (redirect_uri, &found.redirect_uri)
            && given != authorized
        {
            return Err(TokenError::RedirectUriMismatch);
        }
        self.codes.remove(code);
        Ok(self.issue(now, &found.login))
    }

    /// Exchanges a refresh token for a new pair; the old refresh and access tokens stop
    /// working.
    pub fn refresh(
        &mut self,
        now: DateTime<Utc>,
        _client: Client<'_>,
        refresh_token: &str,
    ) -> Result<Issued, TokenError> {
        let found = self
            .refreshes
            .remove(refresh_token)
            .filter(|r| r.expires_at > now)
            .ok_or(TokenError::BadRefreshToken)?;
        if let Some(old) = self.grants.get_mut(&found.access_token) {
            old.replaced = true;
        }
        Ok(self.issue(now, &found.login))
    }

    fn issue(&mut self, now: DateTime<Utc>, login: &str) -> Issued {
        let issued = Issued {
            access_token: token("ghu"),
            expires_in: self.access_token_lifetime,
            refresh_token: token("ghr"),
            refresh_token_expires_in: REFRESH_TOKEN_LIFETIME,
        };
        self.grants.insert(
            issued.access_token.clone(),
            Grant {
                login: login.to_owned(),
                expires_at: now + Duration::seconds(issued.expires_in),
                replaced: false,
            },
        );
        self.refreshes.insert(
            issued.refresh_token.clone(),
            Refresh {
                login: login.to_owned(),
                access_token: issued.access_token.clone(),
                expires_at: now + Duration::seconds(REFRESH_TOKEN_LIFETIME),
            },
        );
        issued
    }

    /// Whose user access token this is at `now`.
    pub fn token_user(&self, now: DateTime<Utc>, token: &str) -> TokenUser {
        match self.grants.get(token) {
            Some(g) if !g.replaced && g.expires_at > now => TokenUser::Valid(g.login.clone()),
            Some(_) => TokenUser::Invalid,
            None => TokenUser::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(app: &GithubApp) -> Client<'_> {
        Client::of(app, &app.client_id, &app.client_secret).unwrap()
    }

    #[test]
    fn only_the_apps_id_and_secret_make_a_client() {
        let app = GithubApp::default();
        assert!(Client::of(&app, "Iv1.fake", "fake-client-secret").is_ok());
        assert_eq!(
            Client::of(&app, "Iv1.fake", "wrong").unwrap_err(),
            TokenError::IncorrectClientCredentials
        );
        assert!(Client::of(&app, "Iv1.other", "fake-client-secret").is_err());
    }

    #[test]
    fn a_code_works_once_and_only_with_the_redirect_it_was_issued_for() {
        let (app, now, mut tokens) = (GithubApp::default(), Utc::now(), Tokens::default());
        let code = tokens.issue_code(now, "octocat", "Iv1.fake", Some("http://t/cb"));
        let mismatch = tokens.exchange_code(now, client(&app), &code, Some("http://t/x"));
        assert_eq!(mismatch.unwrap_err(), TokenError::RedirectUriMismatch);
        let issued = tokens
            .exchange_code(now, client(&app), &code, None)
            .unwrap();
        assert!(issued.access_token.starts_with("ghu_") && issued.access_token.len() == 40);
        assert!(issued.refresh_token.starts_with("ghr_"));
        let again = tokens.exchange_code(now, client(&app), &code, None);
        assert_eq!(again.unwrap_err(), TokenError::BadVerificationCode);
    }

    #[test]
    fn codes_expire_after_ten_minutes() {
        let (app, now, mut tokens) = (GithubApp::default(), Utc::now(), Tokens::default());
        let code = tokens.issue_code(now, "octocat", "Iv1.fake", None);
        let later = now + Duration::seconds(601);
        let late = tokens.exchange_code(later, client(&app), &code, None);
        assert_eq!(late.unwrap_err(), TokenError::BadVerificationCode);
    }

    #[test]
    fn a_refresh_replaces_both_tokens() {
        let (app, now, mut tokens) = (GithubApp::default(), Utc::now(), Tokens::default());
        let code = tokens.issue_code(now, "octocat", "Iv1.fake", None);
        let first = tokens
            .exchange_code(now, client(&app), &code, None)
            .unwrap();
        let second = tokens
            .refresh(now, client(&app), &first.refresh_token)
            .unwrap();
        assert_eq!(
            tokens.token_user(now, &first.access_token),
            TokenUser::Invalid
        );
        assert_eq!(
            tokens.token_user(now, &second.access_token),
            TokenUser::Valid("octocat".into())
        );
        let reused = tokens.refresh(now, client(&app), &first.refresh_token);
        assert_eq!(reused.unwrap_err(), TokenError::BadRefreshToken);
    }

    #[test]
    fn access_tokens_expire_after_their_lifetime() {
        let (app, now) = (GithubApp::default(), Utc::now());
        let mut tokens = Tokens {
            access_token_lifetime: 60,
            ..Tokens::default()
        };
        let code = tokens.issue_code(now, "octocat", "Iv1.fake", None);
        let issued = tokens
            .exchange_code(now, client(&app), &code, None)
            .unwrap();
        assert_eq!(issued.expires_in, 60);
        let later = now + Duration::seconds(61);
        assert_eq!(
            tokens.token_user(later, &issued.access_token),
            TokenUser::Invalid
        );
        assert_eq!(tokens.token_user(now, "ghu_seeded"), TokenUser::Unknown);
    }
}
