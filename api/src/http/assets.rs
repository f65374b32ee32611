//! Pages and scripts served from the binary: GraphiQL (pinned, vendored with its licenses in
//! `api/assets/graphiql/`) and the job dashboard (`api/assets/jobs/`), each under a
//! Content-Security-Policy that allows only Tether's own origin, so an air-gapped install works
//! and no third-party script ever runs where a token is pasted.

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::{HttpResponse, HttpResponseBuilder, web};

/// The dashboard's policy: nothing but our own origin.
pub const DASHBOARD_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// GraphiQL's policy: our own origin, its fonts as `data:` URLs, and the one inline style its
/// dialogs insert (by hash; see `api/assets/graphiql/README.md` to recompute it on upgrade).
pub const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'sha256-nzTgYzXYDNe6BAHiiI7NNlfK8n/auuOAhh2t92YvuXo='; \
     img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($dir:literal, $name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/", $dir, "/", $name)),
        }
    };
}

static GRAPHIQL: [Asset; 6] = [
    asset!(
        "graphiql",
        "graphiql.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("graphiql", "graphiql.min.css", "text/css; charset=utf-8"),
    asset!(
        "graphiql",
        "react.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "graphiql",
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("graphiql", "init.js", "text/javascript; charset=utf-8"),
    asset!("graphiql", "graphiql-page.css", "text/css; charset=utf-8"),
];

static DASHBOARD: [Asset; 2] = [
    asset!("jobs", "app.js", "text/javascript; charset=utf-8"),
    asset!("jobs", "app.css", "text/css; charset=utf-8"),
];

/// GraphiQL's page.
pub const GRAPHIQL_PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// The dashboard's page template (`{{CSRF}}`, `{{ROLE}}`, `{{EMAIL}}`, `{{ERROR}}`).
pub const DASHBOARD_PAGE: &str = include_str!("../../assets/jobs/index.html");

/// A response with the headers every page and asset of ours carries.
pub fn secured(csp: &'static str) -> HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((CONTENT_SECURITY_POLICY, csp))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((X_FRAME_OPTIONS, "DENY"))
        .insert_header((REFERRER_POLICY, "same-origin"));
    builder
}

/// GraphiQL's HTML.
pub fn graphiql() -> HttpResponse {
    secured(GRAPHIQL_CSP)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(GRAPHIQL_PAGE)
}

fn serve(all: &'static [Asset], name: &str, csp: &'static str) -> HttpResponse {
    match all.iter().find(|a| a.name == name) {
        Some(asset) => secured(csp)
            .insert_header((CONTENT_TYPE, asset.content_type))
            // Not content-addressed: revalidate, so an upgrade is picked up at once.
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(asset.body),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `GET /graphql/assets/{name}`.
pub async fn graphiql_asset(name: web::Path<String>) -> HttpResponse {
    serve(&GRAPHIQL, &name, GRAPHIQL_CSP)
}

/// `GET /jobs/assets/{name}`.
pub async fn dashboard_asset(name: web::Path<String>) -> HttpResponse {
    serve(&DASHBOARD, &name, DASHBOARD_CSP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_load_only_our_own_scripts() {
        for page in [GRAPHIQL_PAGE, DASHBOARD_PAGE] {
            assert!(!page.contains("://"), "an absolute URL in a page");
            assert!(!page.contains("<script>"), "an inline script in a page");
            assert!(!page.contains("style=\""), "an inline style in a page");
        }
        for asset in GRAPHIQL.iter().chain(DASHBOARD.iter()) {
            let text = String::from_utf8_lossy(asset.body);
            for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs."] {
                assert!(!text.contains(cdn), "{} loads from {cdn}", asset.name);
            }
        }
    }
}
