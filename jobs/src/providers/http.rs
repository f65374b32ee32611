//! Small helpers shared by the provider modules: sending, reading bounded JSON, `Link` headers.

use crate::CheckError;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

/// Largest body a live check reads; providers' error and metadata documents are far smaller.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Sends `request`, turning transport failures into `UNREACHABLE` naming `host`.
pub(crate) async fn send(request: RequestBuilder, host: &str) -> Result<Response, CheckError> {
    request.send().await.map_err(|e| {
        tracing::debug!(host, error = %e, "provider request failed");
        CheckError::unreachable(host, &e)
    })
}

/// Reads a body up to [`MAX_BODY`] bytes.
pub(crate) async fn body(response: Response, host: &str) -> Result<Vec<u8>, CheckError> {
    let mut response = response;
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CheckError::unreachable(host, &e))?
    {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(CheckError::Unreachable(format!(
                "{host} answered with an oversized body"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads and decodes a JSON body.
pub(crate) async fn json<T: DeserializeOwned>(
    response: Response,
    host: &str,
) -> Result<T, CheckError> {
    let bytes = body(response, host).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        tracing::debug!(host, error = %e, "provider answered unexpected JSON");
        CheckError::Unreachable(format!(
            "{host} answered with a body Tether does not understand"
        ))
    })
}

/// Reads a body as loosely-typed JSON for error messages (`Null` when it is not JSON).
pub(crate) async fn error_json(response: Response, host: &str) -> serde_json::Value {
    body(response, host)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// `UNREACHABLE` for a status the check did not expect, naming rate limits and outages.
pub(crate) fn unexpected(host: &str, response: &Response) -> CheckError {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("; retry after {v} s"))
            .unwrap_or_default();
        return CheckError::Unreachable(format!("{host} is rate limiting requests{retry}"));
    }
    CheckError::unexpected_status(host, status)
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
pub(crate) fn next_link(response: &Response) -> Option<String> {
    let header = response
        .headers()
        .get(reqwest::header::LINK)?
        .to_str()
        .ok()?;
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "rel=\"next\"" | "rel=next"
            )
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// The host (and port) of a URL, for messages.
pub(crate) fn host_label(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.as_str().to_owned(),
    }
}
