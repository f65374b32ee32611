//! Why a connection's scope or credential failed its live check, in terms a user can act on.

use crate::http::FetchError;

/// A failed live check. Each variant maps to one stable user-error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The input is malformed or not allowed (e.g. a URL the SSRF guard refuses).
    #[error("{message}")]
    InvalidInput {
        /// The input field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The provider does not accept the credential (unknown or revoked).
    #[error("{0}")]
    InvalidToken(String),
    /// The credential has expired.
    #[error("{0}")]
    TokenExpired(String),
    /// The credential lacks scopes or permissions.
    #[error("the token is missing required scopes: {}", missing.join(", "))]
    InsufficientScope {
        /// The scopes or permissions it lacks, in the provider's own names.
        missing: Vec<String>,
    },
    /// The credential's user has too low a role on the scope.
    #[error("{0}")]
    InsufficientRole(String),
    /// The group, workspace, organization or installation does not exist (or is invisible).
    #[error("{0}")]
    ScopeNotFound(String),
    /// The provider could not be reached or answered with an error.
    #[error("{0}")]
    Unreachable(String),
    /// The user has not linked the provider account this connection needs.
    #[error("{0}")]
    AccountNotLinked(String),
}

impl CheckError {
    /// The stable user-error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "INVALID_INPUT",
            Self::InvalidToken(_) => "INVALID_TOKEN",
            Self::TokenExpired(_) => "TOKEN_EXPIRED",
            Self::InsufficientScope { .. } => "INSUFFICIENT_SCOPE",
            Self::InsufficientRole(_) => "INSUFFICIENT_ROLE",
            Self::ScopeNotFound(_) => "SCOPE_NOT_FOUND",
            Self::Unreachable(_) => "UNREACHABLE",
            Self::AccountNotLinked(_) => "ACCOUNT_NOT_LINKED",
        }
    }

    /// An unexpected status from the provider.
    pub fn unexpected_status(host: &str, status: reqwest::StatusCode) -> Self {
        Self::Unreachable(format!("{host} answered HTTP {}", status.as_u16()))
    }
}

/// What the HTTP stack could not get past, as a check reports it: statuses a check expects are
/// read by the provider's own check before this applies.
impl From<FetchError> for CheckError {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::Unauthorized(message) => Self::InvalidToken(message),
            FetchError::NotFound(message) | FetchError::Suspended(message) => {
                Self::ScopeNotFound(message)
            }
            FetchError::RateLimited { until } => Self::Unreachable(format!(
                "the provider is rate limiting requests until {}; try again then",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            FetchError::Transient(message)
            | FetchError::Protocol(message)
            | FetchError::TooLarge(message)
            | FetchError::AppMisconfigured(message) => Self::Unreachable(message),
        }
    }
}
