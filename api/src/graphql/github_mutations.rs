//! Linked-account mutations (the linking itself happens in the browser, see `githubLinkUrl`).

use super::context::{state, viewer};
use super::errors::ApiResult;
use super::ids::{self, Kind};
use super::types::UserError;
use crate::services::linked_accounts;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

/// Input of `unlinkAccount`.
#[derive(InputObject)]
pub struct UnlinkAccountInput {
    /// The linked account's id.
    pub id: ID,
}

/// Result of `unlinkAccount`.
#[derive(SimpleObject, Default)]
pub struct UnlinkAccountPayload {
    /// The unlinked account's id.
    pub unlinked_account_id: Option<ID>,
    /// What went wrong.
    pub user_errors: Vec<UserError>,
}

/// Linked-account mutations.
#[derive(Default)]
pub struct LinkedAccountMutations;

#[Object]
impl LinkedAccountMutations {
    /// Unlinks one of the caller's provider accounts; its tokens are deleted with it. Existing
    /// GitHub connections keep working (they authenticate as the app), new ones need a link.
    async fn unlink_account(
        &self,
        ctx: &Context<'_>,
        input: UnlinkAccountInput,
    ) -> ApiResult<UnlinkAccountPayload> {
        let viewer = viewer(ctx)?;
        let id = ids::decode(&input.id, Kind::LinkedAccount)?;
        let unlinked = linked_accounts::unlink(state(ctx)?, viewer, id).await?;
        Ok(UnlinkAccountPayload {
            unlinked_account_id: Some(ids::encode(Kind::LinkedAccount, unlinked)),
            user_errors: Vec::new(),
        })
    }
}
