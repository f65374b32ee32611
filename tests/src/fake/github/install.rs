//! `/apps/{slug}/installations/new` as if the signed-in user picked an account and clicked
//! Install: an owner installs (`installation.created` is delivered), a member can only request
//! the App, and an account that has it already goes to the settings (`setup_action=update`).

use super::oauth::{found, with_query};
use super::ops::announce;
use super::page;
use super::world::{Account, AccountKind, Role};
use crate::fake::http::Incoming;
use crate::fake::state::{Provider, State};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;

/// The browser goes to the setup URL with these parameters (and `state` when one was given).
fn to_setup(state: &State, req: &Incoming, params: &[(&str, &str)]) -> HttpResponse {
    let Some(setup_url) = &state.github.app.setup_url else {
        return page(
            StatusCode::OK,
            "Installation settings (the fake App has no setup URL to send you back to)",
        );
    };
    let mut params = params.to_vec();
    if let Some(s) = req.param("state") {
        params.push(("state", s));
    }
    found(&with_query(setup_url, &params))
}

/// The account the user picked: `target_id` (an organization's or their own id), by default
/// the first organization they own, else their own account.
fn target(state: &State, req: &Incoming) -> Option<Account> {
    let github = &state.github;
    let user = github.session_user();
    let org_account = |login: &str, id: u64| Account {
        login: login.to_owned(),
        id,
        kind: AccountKind::Organization,
    };
    match req.param("target_id") {
        Some(id) => {
            let id = id.parse::<u64>().ok()?;
            if id == user.id {
                Some(github.account_of_scope(&user.login))
            } else {
                github.org_by_id(id).map(|o| org_account(&o.login, o.id))
            }
        }
        None => Some(match github.first_owned_org(&user.login) {
            Some(org) => org_account(&org.login, org.id),
            None => github.account_of_scope(&user.login),
        }),
    }
}

/// `GET /apps/{slug}/installations/new`.
pub(super) fn install(state: &mut State, req: &Incoming, slug: &str) -> HttpResponse {
    if slug != state.github.app.slug {
        return page(StatusCode::NOT_FOUND, "Page not found");
    }
    let user = state.github.session_user();
    let Some(account) = target(state, req) else {
        return page(StatusCode::NOT_FOUND, "Page not found");
    };
    let Some(role) = state.github.role(&user.login, &account) else {
        return page(StatusCode::NOT_FOUND, "Page not found");
    };
    if let Some(existing) = state.github.installation_on(&account.login) {
        let id = existing.id.to_string();
        return to_setup(
            state,
            req,
            &[("installation_id", &id), ("setup_action", "update")],
        );
    }
    match role {
        Role::Owner => {
            let scope = account.login.clone();
            let id = state.github.create_installation(account);
            state.scope(Provider::Github, &scope);
            announce(state, id, "created", None, &user);
            let id = id.to_string();
            to_setup(
                state,
                req,
                &[("installation_id", &id), ("setup_action", "install")],
            )
        }
        Role::Member => {
            state.github.request(&account.login, user);
            to_setup(state, req, &[("setup_action", "request")])
        }
    }
}
