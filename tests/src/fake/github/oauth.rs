//! The OAuth web flow of the App's client: `/login/oauth/authorize` as if the signed-in user
//! clicked Authorize, and `/login/oauth/access_token` exchanging codes and refresh tokens.

use super::page;
use super::tokens::{Issued, TokenError};
use crate::fake::http::Incoming;
use crate::fake::state::State;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;
use url::Url;

/// `url` with the query parameters appended (keeping those it has).
pub(crate) fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            {
                let mut query = parsed.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
            }
            parsed.to_string()
        }
        Err(_) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                query.append_pair(k, v);
            }
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}{}", query.finish())
        }
    }
}

/// A 302 to `location`.
pub(crate) fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("location", location.to_owned()))
        .finish()
}

/// GitHub's rule for a `redirect_uri` given with a registered callback URL: same scheme, host
/// and port, and a path at or below the callback's.
fn redirect_allowed(redirect_uri: &str, callback: &str) -> bool {
    match (Url::parse(redirect_uri), Url::parse(callback)) {
        (Ok(r), Ok(c)) => {
            let base = c.path().trim_end_matches('/');
            r.scheme() == c.scheme()
                && r.host_str() == c.host_str()
                && r.port_or_known_default() == c.port_or_known_default()
                && (r.path() == c.path()
                    || r.path().trim_end_matches('/') == base
                    || r.path().starts_with(&format!("{base}/")))
        }
        _ => false,
    }
}

/// `GET /login/oauth/authorize`: the signed-in user authorizes at once (`login` and `scope`
/// change nothing: the fake's browser has one user and GitHub Apps ignore scopes).
pub(super) fn authorize(state: &mut State, req: &Incoming) -> HttpResponse {
    let github = &mut state.github;
    let client_id = req.param("client_id").unwrap_or_default();
    if client_id != github.app.client_id {
        return page(StatusCode::NOT_FOUND, "Page not found");
    }
    let state_param = req.param("state");
    let given = req.param("redirect_uri");
    let target = match (given, github.app.callback_url.clone()) {
        (Some(uri), Some(callback)) if !redirect_allowed(uri, &callback) => {
            let mut params = vec![
                ("error", "redirect_uri_mismatch"),
                (
                    "error_description",
                    "The redirect_uri MUST match the registered callback URL for this application.",
                ),
                (
                    "error_uri",
                    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
                ),
            ];
            if let Some(s) = state_param {
                params.push(("state", s));
            }
            return found(&with_query(&callback, &params));
        }
        (Some(uri), _) => uri.to_owned(),
        (None, Some(callback)) => callback,
        (None, None) => {
            return page(
                StatusCode::BAD_REQUEST,
                "redirect_uri is required: the fake App has no registered callback URL",
            );
        }
    };
    let user = github.session_user();
    let code = github.issue_code(&user.login, client_id, given);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = state_param {
        params.push(("state", s));
    }
    found(&with_query(&target, &params))
}

/// `POST /login/oauth/access_token`: parameters from the query, a form or a JSON body; the
/// answer is JSON when asked for with `Accept`, a form otherwise, and 200 even for errors.
pub(super) fn access_token(state: &mut State, req: &Incoming) -> HttpResponse {
    let params = req.params();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let client_id = get("client_id").unwrap_or_default();
    let client_secret = get("client_secret").unwrap_or_default();
    let github = &mut state.github;
    let result = match get("grant_type") {
        None | Some("authorization_code") => github.exchange_code(
            client_id,
            client_secret,
            get("code").unwrap_or_default(),
            get("redirect_uri"),
        ),
        Some("refresh_token") => github.refresh(
            client_id,
            client_secret,
            get("refresh_token").unwrap_or_default(),
        ),
        Some(_) => Err(TokenError::UnsupportedGrantType),
    };
    respond(req.accepts_json(), result)
}

fn respond(json: bool, result: Result<Issued, TokenError>) -> HttpResponse {
    let fields: Vec<(&str, String)> = match &result {
        Ok(issued) => vec![
            ("access_token", issued.access_token.clone()),
            ("expires_in", issued.expires_in.to_string()),
            ("refresh_token", issued.refresh_token.clone()),
            (
                "refresh_token_expires_in",
                issued.refresh_token_expires_in.to_string(),
            ),
            ("scope", String::new()),
            ("token_type", "bearer".into()),
        ],
        Err(e) => vec![
            ("error", e.code().into()),
            ("error_description", e.description().into()),
            ("error_uri", e.uri().into()),
        ],
    };
    if json {
        let body = match &result {
            Ok(issued) => json!({
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
                "refresh_token": issued.refresh_token,
                "refresh_token_expires_in": issued.refresh_token_expires_in,
                "token_type": "bearer",
                "scope": "",
            }),
            Err(e) => json!({
                "error": e.code(),
                "error_description": e.description(),
                "error_uri": e.uri(),
            }),
        };
        return HttpResponse::Ok().json(body);
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        form.append_pair(k, v);
    }
    HttpResponse::Ok()
        .content_type("application/x-www-form-urlencoded; charset=utf-8")
        .body(form.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_uri_must_stay_under_the_registered_callback() {
        let callback = "http://tether.test:8080/github/callback";
        for (uri, allowed) in [
            ("http://tether.test:8080/github/callback", true),
            ("http://tether.test:8080/github/callback/more", true),
            ("http://tether.test:8080/github/callbackx", false),
            ("http://tether.test:8081/github/callback", false),
            ("https://tether.test:8080/github/callback", false),
            ("http://evil.test:8080/github/callback", false),
        ] {
            assert_eq!(redirect_allowed(uri, callback), allowed, "{uri}");
        }
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://t/cb?x=1", &[("code", "a b"), ("state", "s&t")]),
            "http://t/cb?x=1&code=a+b&state=s%26t"
        );
    }
}
