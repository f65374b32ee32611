//! One policy for every provider request: timeouts (from the client), retries with jittered
//! backoff on 5xx, timeouts and connection errors, the providers' rate-limit headers, budgets
//! shared through [`RateBudget`], a bound on how long a caller waits, and a cap on every body.

use super::budget::RateBudget;
use super::error::FetchError;
use super::ratelimit::{LONGEST_WAIT, RateLimitState};
use chrono::Utc;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one caller's requests.
#[derive(Debug, Default)]
pub struct FetchStats {
    requests: AtomicU64,
    rate_limit_waits: AtomicU64,
}

impl FetchStats {
    /// Requests sent, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Times a request waited for a rate limit.
    pub fn rate_limit_waits(&self) -> u64 {
        self.rate_limit_waits.load(Ordering::Relaxed)
    }
}

/// Tunables of the policy.
#[derive(Debug, Clone, Copy)]
pub struct FetchPolicy {
    /// Attempts per request (the first included).
    pub attempts: u32,
    /// First backoff; doubles with each retry, ±50 % jitter.
    pub base_backoff: Duration,
    /// Longest a caller waits for a rate limit before giving up with [`FetchError::RateLimited`].
    pub max_wait: Duration,
    /// Largest body read, in bytes.
    pub max_body: usize,
    /// Whether a request that timed out is sent again (a check inside a user's request must
    /// not wait for a hanging host twice).
    pub retry_timeouts: bool,
}

impl Default for FetchPolicy {
    /// Jobs: patient, and a listing page (or Azure's whole-organization list) may be large.
    fn default() -> Self {
        Self {
            attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
            max_body: 32 * 1024 * 1024,
            retry_timeouts: true,
        }
    }
}

impl FetchPolicy {
    /// Live checks run inside a user's request: fewer retries, short waits, small documents.
    pub fn check() -> Self {
        Self {
            attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(5),
            max_body: 4 * 1024 * 1024,
            retry_timeouts: false,
        }
    }
}

/// Sends requests for one caller (a job, or a live check) under one credential on one host.
#[derive(Clone)]
pub struct Fetcher {
    budget: Arc<dyn RateBudget>,
    key: String,
    host: String,
    policy: FetchPolicy,
    stats: Arc<FetchStats>,
}

/// `at`, or `now` plus the longest wait we believe if `at` is further out; rounded up to the
/// millisecond, as budgets and databases store it (so the instant a run reports is the one
/// stored).
fn capped(at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    let at = at.min(now + to_chrono(LONGEST_WAIT));
    let millis =
        at.timestamp_millis() + i64::from(!at.timestamp_subsec_nanos().is_multiple_of(1_000_000));
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or(at)
}

/// A wait as a chrono duration, never past the longest wait we believe (no overflow).
fn to_chrono(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait.min(LONGEST_WAIT)).unwrap_or_default()
}

fn jittered(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.min(10));
    let factor = rand::thread_rng().gen_range(0.5..1.5);
    exp.mul_f64(factor)
}

/// Whether the provider is telling us to slow down (GitHub also uses 403 for that).
fn throttled(status: StatusCode, limits: &RateLimitState) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (limits.remaining == Some(0) || limits.retry_after.is_some()))
        || (status == StatusCode::SERVICE_UNAVAILABLE && limits.retry_after.is_some())
}

impl Fetcher {
    /// A fetcher for `host` whose budget is shared under `key`.
    pub fn new(
        budget: Arc<dyn RateBudget>,
        key: String,
        host: String,
        policy: FetchPolicy,
    ) -> Self {
        Self {
            budget,
            key,
            host,
            policy,
            stats: Arc::new(FetchStats::default()),
        }
    }

    /// The host, as messages name it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The counters.
    pub fn stats(&self) -> &FetchStats {
        &self.stats
    }

    async fn wait_for_budget(&self) -> Result<(), FetchError> {
        if let Some(until) = self.budget.blocked_until(&self.key).await {
            let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if wait > self.policy.max_wait {
                return Err(FetchError::RateLimited { until });
            }
            self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Sends a request (it must be clonable: no streamed body), retrying transport errors, 5xx,
    /// 408 and throttling per the policy; a retried POST must be harmless to repeat (minting a
    /// GitHub installation token is). Returns the first other answer, whatever its status: live
    /// checks read 4xx bodies to tell an expired token from a revoked one.
    pub async fn response(&self, request: RequestBuilder) -> Result<Response, FetchError> {
        let mut last_error = String::new();
        let attempts = self.policy.attempts.max(1);
        for attempt in 0..attempts {
            let last = attempt + 1 == attempts;
            self.wait_for_budget().await?;
            let Some(this) = request.try_clone() else {
                return Err(FetchError::Protocol("request cannot be retried".into()));
            };
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = match this.send().await {
                Ok(response) => response,
                Err(err) => {
                    tracing::debug!(host = %self.host, attempt, error = %err, "provider request failed");
                    last_error = FetchError::transport(&self.host, &err).to_string();
                    if err.is_timeout() && !self.policy.retry_timeouts {
                        break;
                    }
                    if !last {
                        tokio::time::sleep(jittered(self.policy.base_backoff, attempt)).await;
                    }
                    continue;
                }
            };
            let now = Utc::now();
            let limits = RateLimitState::from_headers(response.headers(), now);
            let status = response.status();
            // A spent budget is shared with every worker, whatever this response was; a reset
            // further out than any wait we believe is asked again after that wait.
            let spent = match (limits.remaining, limits.reset_at) {
                (Some(0), Some(reset)) => Some(capped(reset, now)),
                _ => None,
            };
            if throttled(status, &limits) {
                let wait = limits
                    .wait(now)
                    .unwrap_or_else(|| jittered(Duration::from_secs(1), attempt));
                let until = capped(now + to_chrono(wait), now);
                // One write to the budget: the later of the two (it keeps the later anyway).
                let blocked = spent.map_or(until, |spent| spent.max(until));
                self.budget.block_until(&self.key, blocked).await;
                // Decided here, not by reading the budget back: a budget that cannot record
                // the wait (Redis down) must not turn the provider's "wait" into a retry storm.
                if last || wait > self.policy.max_wait {
                    return Err(FetchError::RateLimited { until });
                }
                self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
                // Until the instant the budget recorded, so the next attempt finds it passed.
                let left = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(left).await;
                continue;
            }
            if let Some(spent) = spent {
                self.budget.block_until(&self.key, spent).await;
            }
            if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
                last_error = format!("{} answered HTTP {}", self.host, status.as_u16());
                if !last {
                    tokio::time::sleep(jittered(self.policy.base_backoff, attempt)).await;
                }
                continue;
            }
            return Ok(response);
        }
        Err(FetchError::Transient(last_error))
    }

    /// Like [`Self::response`], but only 2xx and 304 answers are returned; 401, 403, 404 and
    /// other statuses become the matching [`FetchError`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, FetchError> {
        let response = self.response(request).await?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        Err(match status {
            StatusCode::UNAUTHORIZED => FetchError::Unauthorized(format!(
                "{} no longer accepts the credential (HTTP 401): update the token",
                self.host
            )),
            StatusCode::FORBIDDEN => FetchError::Unauthorized(format!(
                "the credential lacks permission on {} (HTTP 403)",
                self.host
            )),
            StatusCode::NOT_FOUND => FetchError::NotFound(format!("{} answered 404", self.host)),
            s => FetchError::Protocol(format!("{} answered HTTP {}", self.host, s.as_u16())),
        })
    }

    /// Reads a body, refusing one larger than the policy's cap before or while it arrives.
    pub async fn body(&self, mut response: Response) -> Result<Vec<u8>, FetchError> {
        let cap = self.policy.max_body;
        // The endpoint, without its query: which answer was too large, for the operator.
        let endpoint = format!("{}{}", self.host, response.url().path());
        let oversized = || {
            let limit = if cap >= 1024 * 1024 {
                format!("{} MiB", cap / (1024 * 1024))
            } else {
                format!("{cap} bytes")
            };
            FetchError::TooLarge(format!(
                "{endpoint} answered with a body larger than {limit}"
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > cap as u64)
        {
            return Err(oversized());
        }
        let mut out = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::transport(&self.host, &e))?
        {
            if out.len() + chunk.len() > cap {
                return Err(oversized());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Reads and decodes a JSON body.
    pub async fn read_json<T: DeserializeOwned>(
        &self,
        response: Response,
    ) -> Result<T, FetchError> {
        let body = self.body(response).await?;
        // The parser's message quotes the provider's values: logged, never shown to users.
        serde_json::from_slice(&body).map_err(|e| {
            tracing::debug!(host = %self.host, error = %e, "provider answered unexpected JSON");
            FetchError::Protocol(format!(
                "{} answered with a body Tether does not understand",
                self.host
            ))
        })
    }

    /// Reads an error body as loosely-typed JSON for messages (`Null` when it is not JSON).
    pub async fn error_json(&self, response: Response) -> serde_json::Value {
        self.body(response)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Sends (2xx only) and decodes JSON; returns the headers too (pagination lives there).
    pub async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<(T, HeaderMap), FetchError> {
        let response = self.send(request).await?;
        let headers = response.headers().clone();
        Ok((self.read_json(response).await?, headers))
    }
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let header = headers.get(reqwest::header::LINK)?.to_str().ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://x/1>; rel=\"last\""),
        );
        assert_eq!(next_link(&headers), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever reset a header announced and whenever "now" is, the instant recorded in
            /// the shared budget is at most a day (and a millisecond) ahead, with no overflow.
            #[test]
            fn a_recorded_reset_is_at_most_a_day_ahead(
                reset_ms in -8_210_266_876_800_000i64..8_210_266_876_799_999i64,
                now_secs in -62_135_596_800i64..253_402_300_799i64,
                wait_secs in any::<u64>(),
            ) {
                let now = chrono::DateTime::from_timestamp(now_secs, 0).unwrap();
                let reset = chrono::DateTime::from_timestamp_millis(reset_ms).unwrap();
                let longest = now + to_chrono(LONGEST_WAIT) + chrono::Duration::milliseconds(1);
                prop_assert!(capped(reset, now) <= longest);
                let waited = capped(now + to_chrono(Duration::from_secs(wait_secs)), now);
                prop_assert!(waited <= longest);
            }
        }
    }
}
