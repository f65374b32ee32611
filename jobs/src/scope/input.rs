//! Inputs every provider shares, parsed into domain types at the boundary: past a resolver,
//! nobody handles a raw string.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// A malformed input, naming the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// The input field (GraphQL name).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl InvalidInput {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A provider credential. Never printed; only its last four characters are ever shown.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({})", self.hint())
    }
}

impl AccessToken {
    /// Parses a token: non-empty, printable ASCII without spaces, at most 2,048 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidInput::new("token", "the token is empty"));
        }
        if raw.len() > 2048 {
            return Err(InvalidInput::new(
                "token",
                "the token is longer than 2048 characters",
            ));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "token",
                "the token contains spaces or characters that cannot be sent in a header",
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// Wraps a secret that was already validated (e.g. opened from the database).
    pub fn from_secret(secret: SecretString) -> Self {
        Self(secret)
    }

    /// The secret itself, for sealing or sending.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// `…a1b2`: enough for a person to recognise the token, useless to anyone else.
    pub fn hint(&self) -> String {
        let value = self.0.expose_secret();
        let tail: String = value
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if value.chars().count() <= 8 {
            "…".to_owned()
        } else {
            format!("…{tail}")
        }
    }
}

/// An Atlassian account email, used with an API token for HTTP Basic authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEmail(String);

impl AccountEmail {
    /// Parses an email address (one `@`, a dotted domain, no spaces).
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, InvalidInput> {
        let value = raw.trim();
        let ok = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && value.len() <= 254
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidInput::new(field, "not a valid email address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a user-supplied base URL: http(s), a host, no credentials, query or fragment.
pub(crate) fn parse_http_url(raw: &str, field: &'static str) -> Result<Url, InvalidInput> {
    let url = Url::parse(raw.trim())
        .map_err(|e| InvalidInput::new(field, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(InvalidInput::new(field, "the URL must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InvalidInput::new(field, "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidInput::new(
            field,
            "the URL must not contain credentials; pass the token separately",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidInput::new(
            field,
            "the URL must not have a query or fragment",
        ));
    }
    Ok(url)
}

pub(crate) fn strip_trailing_slash(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// `host[:port][/path]`, lowercased host: how repositories of a self-managed server are identified.
pub(crate) fn url_identity(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{host}{port}{}", url.path().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_show_only_a_hint() {
        let token = AccessToken::parse(" glpat-abcdefgh1234 ").unwrap();
        assert_eq!(token.hint(), "…1234");
        assert!(!format!("{token:?}").contains("abcdefgh"));
        assert_eq!(AccessToken::parse("short").unwrap().hint(), "…");
        assert!(AccessToken::parse("").is_err());
        assert!(AccessToken::parse("a b").is_err());
    }

    #[test]
    fn emails_parse() {
        assert!(AccountEmail::parse("dev@example.com", "email").is_ok());
        assert!(AccountEmail::parse("dev@example", "email").is_err());
        assert!(AccountEmail::parse("dev @example.com", "email").is_err());
    }
}
