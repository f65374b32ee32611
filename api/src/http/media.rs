//! Content negotiation for GraphQL over HTTP.

/// The response media types we produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: request errors get 4xx status codes.
    GraphqlResponse,
    /// `application/json`: the legacy type; well-formed requests always get 200.
    Json,
}

impl ResponseType {
    /// The `Content-Type` header value.
    pub fn header(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from an `Accept` header: the highest-q supported type; `*/*` and
/// `application/*` mean `application/json`; no header means `application/json`. `None` when
/// nothing acceptable is offered (406).
pub fn negotiate(accept: Option<&str>) -> Option<ResponseType> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(ResponseType::Json);
    };
    let mut best: Option<(f32, u8, ResponseType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        if q <= 0.0 {
            continue;
        }
        // Among equal q, an exact type beats a wildcard, and graphql-response+json beats json.
        let candidate = match media.as_str() {
            "application/graphql-response+json" => (q, 3, ResponseType::GraphqlResponse),
            "application/json" => (q, 2, ResponseType::Json),
            "application/*" | "*/*" => (q, 1, ResponseType::Json),
            _ => continue,
        };
        if best.is_none_or(|(bq, bs, _)| (candidate.0, candidate.1) > (bq, bs)) {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, t)| t)
}

/// Whether a POST `Content-Type` is JSON in UTF-8 (the only request encoding we accept).
pub fn is_json_utf8(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| match param.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

/// Whether a browser is asking for a page (GraphiQL).
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_graphql_over_http_spec() {
        use ResponseType::*;
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("application/json")), Some(Json));
        assert_eq!(
            negotiate(Some("application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Json)
        );
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }

    #[test]
    fn only_utf8_json_bodies_are_accepted() {
        assert!(is_json_utf8(Some("application/json")));
        assert!(is_json_utf8(Some("application/json; charset=UTF-8")));
        assert!(!is_json_utf8(Some("application/json; charset=utf-16")));
        assert!(!is_json_utf8(Some("text/plain")));
        assert!(!is_json_utf8(None));
    }
}
