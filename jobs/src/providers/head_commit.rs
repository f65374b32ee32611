//! What a provider says about a branch's head commit: asked conditionally, so an unchanged
//! branch costs a 304 (which GitHub does not even count against its rate limit).

use crate::http::{FetchError, Fetcher};

/// Which repository to look at.
#[derive(Debug, Clone, Copy)]
pub struct RepoRef<'a> {
    /// The provider's id.
    pub external_id: &'a str,
    /// Full path (`owner/name`, `Project/repo`, …).
    pub full_name: &'a str,
    /// The branch.
    pub default_branch: &'a str,
    /// The ETag of the last answer, if any.
    pub etag: Option<&'a str>,
}

/// What the provider said about the head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCommit {
    /// 304: as before.
    NotModified,
    /// The current head and the answer's ETag.
    Current {
        /// Commit SHA.
        sha: String,
        /// ETag to send next time.
        etag: Option<String>,
    },
}

/// Sends `request` with `If-None-Match` and reads the SHA at `pointer` (a JSON pointer): the
/// shared half of every provider's head-commit lookup.
pub(crate) async fn conditional_sha(
    http: &Fetcher,
    request: reqwest::RequestBuilder,
    etag: Option<&str>,
    pointer: &str,
) -> Result<HeadCommit, FetchError> {
    let request = match etag {
        Some(tag) => request.header(reqwest::header::IF_NONE_MATCH, tag),
        None => request,
    };
    let response = http.send(request).await?;
    if response.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(HeadCommit::NotModified);
    }
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = http.read_json(response).await?;
    let sha = body
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .ok_or_else(|| FetchError::Protocol(format!("the branch document has no {pointer}")))?;
    Ok(HeadCommit::Current {
        sha: sha.to_owned(),
        etag,
    })
}
