//! The scheduled-job dashboard at `/jobs`: a small page of ours on our own GraphQL API, for
//! admins and owners, signed in with the same accounts through an HttpOnly, SameSite=Strict
//! session cookie (Secure behind https). Forms are accepted only from our own origin; GraphQL
//! requests made with the cookie also need the page's CSRF token.

use super::assets::{DASHBOARD_CSP, DASHBOARD_PAGE, secured};
use crate::auth::{Viewer, cookie, viewer};
use crate::graphql::types::UserErrorCode;
use crate::services::Failure;
use crate::services::sessions::{self, LoginAttempt, LoginOrganization};
use crate::state::AppState;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

fn public_url_is_https(state: &AppState) -> bool {
    state
        .github
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https")
}

/// The signed-in viewer of the request's cookie, with its session token.
async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<(Viewer, SecretString)>, sea_orm::DbErr> {
    let Some(token) = cookie::session(req) else {
        return Ok(None);
    };
    Ok(viewer::resolve(&state.db, &token)
        .await?
        .map(|viewer| (viewer, token)))
}

/// `GET /jobs`: the dashboard for a signed-in admin or owner, the sign-in form otherwise.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let error = match url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
        .as_deref()
    {
        Some("invalid") => "Wrong email or password.",
        Some("forbidden") => "Only owners and admins can open the dashboard.",
        Some("throttled") => "Too many attempts; try again later.",
        _ => "",
    };
    let (csrf, role, email) = match signed_in(&req, &state).await {
        Ok(Some((viewer, token))) => {
            let email = crate::services::accounts::profile(&state.db, &viewer)
                .await
                .map(|(user, _)| user.email)
                .unwrap_or_default();
            let role = match viewer.role {
                entities::Role::Owner => "OWNER",
                entities::Role::Admin => "ADMIN",
                entities::Role::Member => "MEMBER",
            };
            // Members sign in but see no data: the page tells them why.
            let csrf = if viewer.can_manage_connections() {
                cookie::csrf_token(&token)
            } else {
                String::new()
            };
            (csrf, role, email)
        }
        Ok(None) => (String::new(), "", String::new()),
        Err(err) => {
            tracing::error!(error = %err, "could not resolve a dashboard session");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let page = DASHBOARD_PAGE
        .replace("{{CSRF}}", &csrf)
        .replace("{{ROLE}}", role)
        .replace("{{EMAIL}}", &escape(&email))
        .replace("{{ERROR}}", &escape(error));
    secured(DASHBOARD_CSP)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(page)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

/// `POST /jobs/login`: signs an admin or owner in and sets the session cookie.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignIn>,
) -> HttpResponse {
    // A form posted from another site would sign the victim in as the attacker.
    if !cookie::same_origin(&req) {
        return HttpResponse::Forbidden().body("cross-site sign-in refused");
    }
    let SignIn { email, password } = form.into_inner();
    let client_address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let attempt = LoginAttempt {
        email: &email,
        password: SecretString::from(password),
        organization: LoginOrganization::Home,
        client_address: &client_address,
    };
    let session = match sessions::login(&state, attempt).await {
        Ok(session) => session,
        Err(Failure::User(err)) if err.code == UserErrorCode::RateLimited => {
            return see_other("/jobs?error=throttled");
        }
        Err(Failure::User(_)) => return see_other("/jobs?error=invalid"),
        Err(Failure::Api(err)) => {
            tracing::error!(error = ?err, "dashboard sign-in failed");
            return HttpResponse::InternalServerError().finish();
        }
    };
    match viewer::resolve(&state.db, &session.token).await {
        Ok(Some(viewer)) if viewer.can_manage_connections() => {
            let secure = cookie::is_https(&req, public_url_is_https(&state));
            let mut response = see_other("/jobs");
            let _ = response.add_cookie(&cookie::issue(&session.token, secure));
            response
        }
        Ok(Some(viewer)) => {
            // No cookie for members: the session just made is revoked at once.
            if let Err(err) = sessions::revoke(&state.db, viewer.token_id).await {
                tracing::warn!(error = ?err, "could not revoke a member's dashboard session");
            }
            see_other("/jobs?error=forbidden")
        }
        Ok(None) => see_other("/jobs?error=invalid"),
        Err(err) => {
            tracing::error!(error = %err, "dashboard sign-in failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The sign-out form.
#[derive(Deserialize)]
pub struct SignOut {
    csrf: String,
}

/// `POST /jobs/logout`: revokes the cookie's session and clears the cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignOut>,
) -> HttpResponse {
    let secure = cookie::is_https(&req, public_url_is_https(&state));
    if let Some(token) = cookie::session(&req) {
        if !cookie::from_our_page(&token, cookie::same_origin(&req), Some(&form.csrf)) {
            return HttpResponse::Forbidden().body("cross-site sign-out refused");
        }
        if let Ok(Some(viewer)) = viewer::resolve(&state.db, &token).await
            && let Err(err) = sessions::revoke(&state.db, viewer.token_id).await
        {
            tracing::warn!(error = ?err, "could not revoke a dashboard session");
        }
    }
    let mut response = see_other("/jobs");
    let _ = response.add_cookie(&cookie::clear(secure));
    response
}
