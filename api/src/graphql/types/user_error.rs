//! Expected failures of a mutation, returned in its payload's `userErrors`.

use async_graphql::{Enum, SimpleObject};
use jobs::{CheckError, InvalidInput};

/// What went wrong, as a stable code.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserErrorCode {
    /// An input is malformed or not allowed.
    InvalidInput,
    /// The provider does not accept the token.
    InvalidToken,
    /// The token has expired.
    TokenExpired,
    /// The token lacks scopes (named in the message).
    InsufficientScope,
    /// The token's user has too low a role on the scope.
    InsufficientRole,
    /// The group, workspace, organization or installation does not exist.
    ScopeNotFound,
    /// The provider could not be reached (the message says why).
    Unreachable,
    /// This organization already has a connection for that scope.
    DuplicateConnection,
    /// A linked provider account is required first.
    AccountNotLinked,
    /// Email or password is wrong.
    InvalidCredentials,
    /// Too many attempts; try again later.
    RateLimited,
    /// The email already has an account.
    EmailTaken,
    /// No such user (they must sign up first).
    UserNotFound,
    /// The user already belongs to the organization.
    AlreadyMember,
    /// The object does not exist in this organization.
    NotFound,
    /// The server lacks the settings this needs (the message names them).
    NotConfigured,
}

/// A user error: which input field, what code, and a message for people.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserError {
    /// The input field at fault (`groupPath`, `token`…), when there is one.
    pub field: Option<String>,
    /// Stable code.
    pub code: UserErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl UserError {
    /// A user error on `field`.
    pub fn new(field: Option<&str>, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.map(str::to_owned),
            code,
            message: message.into(),
        }
    }
}

impl From<InvalidInput> for UserError {
    fn from(err: InvalidInput) -> Self {
        Self::new(Some(err.field), UserErrorCode::InvalidInput, err.message)
    }
}

/// Maps a failed live check to a user error on the field it concerns.
pub fn from_check(
    err: CheckError,
    scope_field: &'static str,
    url_field: Option<&'static str>,
) -> UserError {
    let message = err.to_string();
    let (field, code) = match err {
        CheckError::InvalidInput { field, .. } => (Some(field), UserErrorCode::InvalidInput),
        CheckError::InvalidToken(_) => (Some("token"), UserErrorCode::InvalidToken),
        CheckError::TokenExpired(_) => (Some("token"), UserErrorCode::TokenExpired),
        CheckError::InsufficientScope { .. } => (Some("token"), UserErrorCode::InsufficientScope),
        CheckError::InsufficientRole(_) => (Some("token"), UserErrorCode::InsufficientRole),
        CheckError::ScopeNotFound(_) => (Some(scope_field), UserErrorCode::ScopeNotFound),
        CheckError::Unreachable(_) => (url_field, UserErrorCode::Unreachable),
        CheckError::AccountNotLinked(_) => (None, UserErrorCode::AccountNotLinked),
    };
    UserError::new(field, code, message)
}
