//! Why a provider request failed, in the terms a caller acts on: a job decides the run's
//! outcome from it, a live check turns it into a user error.

use chrono::{DateTime, Utc};

/// A failed provider request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The credential was refused (revoked, expired, or lacking permission): needs the user.
    #[error("{0}")]
    Unauthorized(String),
    /// The scope itself is gone or invisible.
    #[error("{0}")]
    NotFound(String),
    /// The app installation was uninstalled or suspended.
    #[error("{0}")]
    Suspended(String),
    /// The server's own provider identity was refused (the GitHub App's id or private key):
    /// an operator's mistake, not the user's.
    #[error("{0}")]
    AppMisconfigured(String),
    /// The provider asked us to wait longer than the caller may hold on.
    #[error("rate limited until {until}")]
    RateLimited {
        /// When requests may resume.
        until: DateTime<Utc>,
    },
    /// Still failing after retries (5xx, timeouts, connection errors).
    #[error("{0}")]
    Transient(String),
    /// The provider answered something we do not understand.
    #[error("{0}")]
    Protocol(String),
    /// The provider's answer was larger than the caller reads.
    #[error("{0}")]
    TooLarge(String),
}

impl FetchError {
    /// A 404 on a listing means the scope itself is gone (or invisible): say which one.
    pub(crate) fn scope_gone(self, scope: impl FnOnce() -> String) -> Self {
        match self {
            Self::NotFound(_) => Self::NotFound(format!(
                "{} no longer exists or the token cannot see it",
                scope()
            )),
            other => other,
        }
    }

    /// Describes a transport failure without echoing anything secret (reqwest never puts
    /// headers in its errors, and tokens only ever travel in headers).
    pub(crate) fn transport(host: &str, err: &reqwest::Error) -> Self {
        let reason = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            // The deepest cause says why (refused, or the SSRF guard's verdict).
            let mut source: Option<&dyn std::error::Error> = Some(err);
            let mut deepest = String::from("connection failed");
            while let Some(e) = source {
                deepest = e.to_string();
                source = e.source();
            }
            format!("could not connect ({deepest})")
        } else if err.is_redirect() {
            "refused to follow a redirect".to_owned()
        } else if err.is_decode() || err.is_body() {
            "answered with an unexpected body".to_owned()
        } else {
            "request failed".to_owned()
        };
        Self::Transient(format!("{host} is unreachable: {reason}"))
    }
}
