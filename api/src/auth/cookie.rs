//! The dashboard's session cookie and what protects requests made with it: the cookie is
//! HttpOnly and SameSite=Strict, and every request it authenticates must also carry a CSRF token
//! that only a page of ours can know (it is derived from the session token, which no script can
//! read) and come from our own origin.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{HOST, ORIGIN};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const SESSION_COOKIE: &str = "tether_session";

/// The header a cookie-authenticated GraphQL request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token the request's cookie carries.
pub fn session(req: &HttpRequest) -> Option<SecretString> {
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

/// The CSRF token of a session: a digest of its secret token, so a page can only know it if
/// the server put it there.
pub fn csrf_token(session: &SecretString) -> String {
    let digest = Sha256::new()
        .chain_update(b"tether csrf v1\0")
        .chain_update(session.expose_secret().as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `presented` is the CSRF token of `session` (compared in constant time).
pub fn csrf_matches(session: &SecretString, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = csrf_token(session);
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// Whether a request made with `session`'s cookie may act: it came from our own origin and
/// carries the session's CSRF token (the one rule for GraphQL, WebSocket and form requests).
pub fn from_our_page(session: &SecretString, same_origin: bool, csrf: Option<&str>) -> bool {
    same_origin && csrf.is_some_and(|csrf| csrf_matches(session, csrf))
}

/// Whether the request comes from a page of this origin: its `Origin` names the host it was
/// sent to. Browsers send `Origin` on every cross-origin request, every POST and every
/// WebSocket handshake, so a missing one is refused too.
pub fn same_origin(req: &HttpRequest) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (header(ORIGIN), header(HOST)) else {
        return false;
    };
    url::Url::parse(origin).is_ok_and(|url| {
        let Some(origin_host) = url.host_str() else {
            return false;
        };
        let origin_authority = match url.port() {
            Some(port) => format!("{origin_host}:{port}"),
            None => origin_host.to_owned(),
        };
        origin_authority.eq_ignore_ascii_case(host)
    })
}

/// Whether the browser reached us over https (directly, or as `TETHER_PUBLIC_URL` says).
pub fn is_https(req: &HttpRequest, public_url_is_https: bool) -> bool {
    public_url_is_https || req.connection_info().scheme() == "https"
}

/// The cookie that carries `token`.
pub fn issue(token: &SecretString, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.expose_secret().to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn clear(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let a = SecretString::from("tth_a".to_owned());
        let b = SecretString::from("tth_b".to_owned());
        assert!(csrf_matches(&a, &csrf_token(&a)));
        assert!(!csrf_matches(&a, &csrf_token(&b)));
        assert!(!csrf_matches(&a, ""));
        assert_eq!(csrf_token(&a).len(), 64);
    }

    #[test]
    fn only_requests_from_the_same_origin_pass() {
        let req = |origin: Option<&str>| {
            let mut r = TestRequest::default().insert_header((HOST, "127.0.0.1:8080"));
            if let Some(origin) = origin {
                r = r.insert_header((ORIGIN, origin));
            }
            r.to_http_request()
        };
        assert!(same_origin(&req(Some("http://127.0.0.1:8080"))));
        assert!(!same_origin(&req(Some("http://127.0.0.1:8081"))));
        assert!(!same_origin(&req(Some("https://evil.example"))));
        assert!(!same_origin(&req(Some("null"))));
        assert!(!same_origin(&req(None)));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let cookie = issue(&SecretString::from("tth_x".to_owned()), true).to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(
            !issue(&SecretString::from("t".to_owned()), false)
                .to_string()
                .contains("Secure")
        );
    }
}
