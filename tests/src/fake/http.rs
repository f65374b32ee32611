//! What every provider module needs from a request, and helpers to shape responses.

use actix_web::HttpRequest;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A request reduced to what the fake looks at.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub method: Method,
    /// Raw path and query, what faults match against.
    pub path_and_query: String,
    /// Path segments, percent-decoded.
    pub segments: Vec<String>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// `scheme://host:port` the client used.
    pub base: String,
    /// Raw `Authorization` header.
    pub authorization: Option<String>,
    /// GitLab's `PRIVATE-TOKEN` header.
    pub private_token: Option<String>,
    /// `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// `Accept` header (GitHub's token endpoint answers JSON only when asked).
    pub accept: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// The request body (forms posted to GitHub's token endpoint).
    pub body: Vec<u8>,
}

impl Incoming {
    /// Reads the parts of `req` (and its `body`) the fake uses.
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let info = req.connection_info();
        Self {
            method: req.method().clone(),
            path_and_query: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
            segments: req
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .map(percent_decode)
                .collect(),
            query: url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect(),
            base: format!("{}://{}", info.scheme(), info.host()),
            authorization: header("authorization"),
            private_token: header("private-token"),
            if_none_match: header("if-none-match"),
            accept: header("accept"),
            content_type: header("content-type"),
            body: body.to_vec(),
        }
    }

    /// Path segments as `&str`, for matching.
    pub fn parts(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A positive integer parameter, `default` when absent or malformed, at most `max`.
    pub fn number(&self, name: &str, default: u64, max: u64) -> u64 {
        self.param(name)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
            .min(max)
    }

    /// This request's absolute URL with some query parameters replaced.
    pub fn url_with(&self, changes: &[(&str, String)]) -> String {
        let path = self
            .path_and_query
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            if !changes.iter().any(|(name, _)| name == k) {
                query.append_pair(k, v);
            }
        }
        for (k, v) in changes {
            query.append_pair(k, v);
        }
        format!("{}{path}?{}", self.base, query.finish())
    }

    /// The token the request carries: `PRIVATE-TOKEN`, a Bearer/`token` header, or the
    /// password of Basic credentials (Bitbucket email:token, Azure DevOps `:pat`).
    pub fn credential(&self) -> Option<String> {
        if let Some(token) = &self.private_token {
            return Some(token.clone());
        }
        let value = self.authorization.as_deref()?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        let rest = rest.trim();
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" | "token" => Some(rest.to_owned()),
            "basic" => {
                let decoded = STANDARD.decode(rest).ok()?;
                let text = String::from_utf8(decoded).ok()?;
                text.split_once(':').map(|(_, secret)| secret.to_owned())
            }
            _ => None,
        }
        .filter(|t| !t.is_empty())
    }

    /// The query's parameters followed by the body's, decoded from a form or a JSON object
    /// (GitHub's token endpoint takes its parameters from either).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut params = self.query.clone();
        let json = self
            .content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
        if json {
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_slice::<serde_json::Value>(&self.body)
            {
                params.extend(map.into_iter().filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    serde_json::Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                }));
            }
        } else {
            params.extend(url::form_urlencoded::parse(&self.body).into_owned());
        }
        params
    }

    /// Whether the client asked for JSON.
    pub fn accepts_json(&self) -> bool {
        self.accept
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"))
    }

    /// Whether `If-None-Match` names `etag`.
    pub fn matches_etag(&self, etag: &str) -> bool {
        self.if_none_match.as_deref().is_some_and(|header| {
            header
                .split(',')
                .map(str::trim)
                .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
        })
    }
}

/// Decodes `%XX` escapes; malformed escapes stay as they are.
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sets a header, ignoring values that are not valid header text.
pub(crate) fn set_header(response: &mut actix_web::HttpResponse, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

/// One page of `total` items: the index range and the number of pages (at least 1).
pub(crate) fn page_range(total: usize, per_page: u64, page: u64) -> (std::ops::Range<usize>, u64) {
    let per_page = per_page.max(1) as usize;
    let pages = total.div_ceil(per_page).max(1) as u64;
    let start = (page.saturating_sub(1) as usize)
        .saturating_mul(per_page)
        .min(total);
    let end = start.saturating_add(per_page).min(total);
    (start..end, pages)
}

/// An RFC 8288 `Link` header value from `(rel, url)` pairs.
pub(crate) fn link_header(links: &[(&str, String)]) -> String {
    links
        .iter()
        .map(|(rel, url)| format!("<{url}>; rel=\"{rel}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A 304 answer to a conditional request.
pub(crate) fn not_modified(etag: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::NotModified()
        .insert_header((header::ETAG, etag.to_owned()))
        .finish()
}

/// A JSON answer with an ETag.
pub(crate) fn with_etag(etag: &str, body: serde_json::Value) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((header::ETAG, etag.to_owned()))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_group_paths_and_bad_escapes() {
        assert_eq!(percent_decode("ghost%2Fmygroup"), "ghost/mygroup");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn pages_cover_the_total_exactly() {
        assert_eq!(page_range(250, 100, 3), (200..250, 3));
        assert_eq!(page_range(0, 100, 1), (0..0, 1));
        assert_eq!(page_range(10, 100, 5), (10..10, 1));
    }
}
