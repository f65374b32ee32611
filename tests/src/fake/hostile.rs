//! A provider that is not on our side: a self-managed GitLab or Azure DevOps Server is chosen
//! by the user, so its answers are untrusted. Each rule makes the matching requests answer in
//! one hostile way until it is cleared, for the tests of each bound Tether keeps.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use futures::stream;
use serde::{Deserialize, Serialize};

/// One hostile way of answering the requests whose path and query contain `path_contains`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Hostile {
    /// Matches requests whose path and query contain this text.
    pub path_contains: String,
    /// How they are answered.
    pub answer: HostileAnswer,
}

/// A hostile answer.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostileAnswer {
    /// `200` with a JSON body of this many bytes, streamed as it is made, with no length
    /// announced: only reading it counts it.
    EndlessBody {
        /// Bytes in all.
        bytes: u64,
    },
    /// The real answer, announcing this many pages (`x-total-pages`, `x-total`, and a next page
    /// after every page); the pages past the data are empty.
    ClaimedPages {
        /// Pages announced.
        pages: u64,
    },
    /// `429` with these header values, exactly as given.
    RateLimited {
        /// `(name, value)` pairs.
        headers: Vec<(String, String)>,
    },
    /// Repository web and clone URLs no browser or git client may follow.
    UnsafeUrls,
}

impl Hostile {
    /// Whether this rule answers `path_and_query`.
    pub(crate) fn matches(&self, path_and_query: &str) -> bool {
        path_and_query.contains(&self.path_contains)
    }
}

/// A body of `bytes` bytes: a JSON array opened and padded with spaces, made 64 KiB at a time.
pub(crate) fn endless_body(bytes: u64) -> HttpResponse {
    const CHUNK: u64 = 64 * 1024;
    let chunks = stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let size = CHUNK.min(bytes - sent);
        let mut chunk = vec![b' '; size as usize];
        if sent == 0 {
            chunk[0] = b'[';
        }
        Some((
            Ok::<_, std::io::Error>(actix_web::web::Bytes::from(chunk)),
            sent + size,
        ))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(chunks)
}

/// A `429` carrying `headers` as given.
pub(crate) fn rate_limited(headers: &[(String, String)]) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::TOO_MANY_REQUESTS);
    for (name, value) in headers {
        response.insert_header((name.as_str(), value.as_str()));
    }
    response.content_type("text/plain").body("Retry later\n")
}

/// Rewrites a paged answer's headers to announce `pages` pages, with a next page after this one.
pub(crate) fn claim_pages(response: &mut HttpResponse, pages: u64, page: u64, per_page: u64) {
    use super::http::set_header;
    set_header(response, "x-total-pages", &pages.to_string());
    set_header(
        response,
        "x-total",
        &pages.saturating_mul(per_page).to_string(),
    );
    set_header(response, "x-next-page", &(page + 1).to_string());
}
