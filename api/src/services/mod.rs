//! Business operations behind the resolvers (and the CLI), one file per concept. Resolvers parse
//! their input, call one of these and map the result to a payload.

pub mod accounts;
pub mod connections;
pub mod discovery_runs;
pub mod github_flow;
pub mod github_install;
pub mod github_webhooks;
pub mod linked_accounts;
pub mod members;
pub mod oauth_states;
pub mod repositories;
pub mod sessions;

use crate::graphql::errors::ApiError;
use crate::graphql::types::UserError;
use sea_orm::DbErr;

/// A mutation's outcome: a user error to report, or an API error to raise.
pub enum Failure {
    /// Expected, reported in `userErrors`.
    User(UserError),
    /// Unexpected or not permitted, raised as a GraphQL error.
    Api(ApiError),
}

impl From<sea_orm::DbErr> for Failure {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Api(err.into())
    }
}

impl From<UserError> for Failure {
    fn from(err: UserError) -> Self {
        Self::User(err)
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

/// Normalises and checks an email address.
pub fn parse_email(raw: &str) -> Result<String, UserError> {
    jobs::AccountEmail::parse(raw, "email")
        .map(|e| e.as_str().to_lowercase())
        .map_err(UserError::from)
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
