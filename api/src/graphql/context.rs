//! Per-request data and the helpers resolvers use to reach state and check roles.

use super::errors::{ApiError, ApiResult};
use crate::auth::Viewer;
use crate::state::AppState;
use async_graphql::Context;

/// Data the HTTP layer attaches to each request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The caller, when a valid bearer token was sent.
    pub viewer: Option<Viewer>,
    /// The caller's IP address as the TCP peer (no forwarding header is trusted), which keys the
    /// login throttle; empty when unknown.
    pub client_address: String,
}

/// The shared application state.
pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::Internal("AppState missing from schema data".into()))
}

/// The request's data (anonymous when the schema runs without HTTP).
pub fn request<'a>(ctx: &Context<'a>) -> Option<&'a RequestContext> {
    ctx.data_opt::<RequestContext>()
}

/// The authenticated caller, or UNAUTHENTICATED.
pub fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    request(ctx)
        .and_then(|r| r.viewer.as_ref())
        .ok_or(ApiError::Unauthenticated)
}

/// The caller, who must be allowed to manage connections (admin or owner).
pub fn connection_manager<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    let viewer = viewer(ctx)?;
    if viewer.can_manage_connections() {
        Ok(viewer)
    } else {
        Err(ApiError::Forbidden(
            "managing connections (admins and owners only)",
        ))
    }
}

/// The caller, who must be allowed to manage members (owner).
pub fn member_manager<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    let viewer = viewer(ctx)?;
    if viewer.can_manage_members() {
        Ok(viewer)
    } else {
        Err(ApiError::Forbidden("managing members (owners only)"))
    }
}
