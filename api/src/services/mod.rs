//! Business operations behind the resolvers (and the CLI), one file per concept. Resolvers parse
//! their input, call one of these and map the result to a payload.

pub mod accounts;
pub mod connections;
pub mod linked_accounts;
pub mod members;
pub mod repositories;
pub mod sessions;

use crate::graphql::errors::ApiError;

// Written for connections first; every service that can fail with a user error uses it.
pub use connections::Failure;

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}
