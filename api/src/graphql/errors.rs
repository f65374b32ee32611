//! The one error type of the API, mapped once to stable GraphQL codes. Internal causes are
//! logged here and never sent.

use async_graphql::ErrorExtensions;

/// The stable, client-facing error codes in `extensions.code`.
pub mod code {
    /// The request or an argument is malformed.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// No valid bearer token.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// Authenticated, but the role does not allow it.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Missing, or belongs to another organization.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Our fault; the cause is in the logs.
    pub const INTERNAL: &str = "INTERNAL";
}

/// A failed resolver. Deliberately not `Display`: it converts to a GraphQL error only through
/// [`From`], which strips internal causes.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// See [`code::BAD_USER_INPUT`].
    BadUserInput(String),
    /// See [`code::UNAUTHENTICATED`].
    Unauthenticated,
    /// See [`code::FORBIDDEN`].
    Forbidden(&'static str),
    /// See [`code::NOT_FOUND`].
    NotFound,
    /// See [`code::INTERNAL`]; the string is the cause, for the logs only.
    Internal(String),
}

/// Resolver result.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

impl From<sea_orm::TransactionError<sea_orm::DbErr>> for ApiError {
    fn from(err: sea_orm::TransactionError<sea_orm::DbErr>) -> Self {
        Self::Internal(format!("database transaction: {err}"))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let (message, code) = match err {
            ApiError::BadUserInput(message) => (message, code::BAD_USER_INPUT),
            ApiError::Unauthenticated => (
                "authentication required: send Authorization: Bearer <token>".to_owned(),
                code::UNAUTHENTICATED,
            ),
            ApiError::Forbidden(what) => {
                (format!("your role does not allow {what}"), code::FORBIDDEN)
            }
            ApiError::NotFound => ("not found".to_owned(), code::NOT_FOUND),
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                ("internal error".to_owned(), code::INTERNAL)
            }
        };
        async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
    }
}

/// Makes every error leaving the server carry a stable code, and hides any message that did not
/// come from [`ApiError`] (a library error reaching a client would be a leak).
pub fn sanitize(mut err: async_graphql::ServerError) -> async_graphql::ServerError {
    let has_code = err
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return err;
    }
    let input_problem = err.path.is_empty()
        || err.message.starts_with("Failed to parse")
        || err.message.starts_with("Invalid value for argument")
        || err.message.starts_with("Query is nested too deep")
        || err.message.starts_with("Query is too complex");
    let code = if input_problem {
        code::BAD_USER_INPUT
    } else {
        tracing::error!(cause = %err.message, path = ?err.path, "uncoded resolver error");
        err.message = "internal error".to_owned();
        code::INTERNAL
    };
    let mut extensions = err.extensions.take().unwrap_or_default();
    extensions.set("code", code);
    err.extensions = Some(extensions);
    err
}
