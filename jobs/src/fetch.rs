//! One HTTP policy for every provider call made by jobs: timeouts (from the client), retries
//! with jittered backoff on 5xx, timeouts and connection errors, the providers' rate-limit
//! headers, budgets shared through [`RateBudget`], and a bound on how long a worker waits.

use crate::budget::RateBudget;
use crate::ratelimit::RateLimitState;
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::{RequestBuilder, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a provider call failed, as the job needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The credential was refused (revoked, expired, or lacking permission): needs the user.
    #[error("{0}")]
    Unauthorized(String),
    /// The scope itself is gone or invisible.
    #[error("{0}")]
    NotFound(String),
    /// The app installation was uninstalled or suspended.
    #[error("{0}")]
    Suspended(String),
    /// The provider asked us to wait longer than a worker may hold on.
    #[error("rate limited until {until}")]
    RateLimited {
        /// When requests may resume.
        until: DateTime<Utc>,
    },
    /// Still failing after retries (5xx, timeouts, connection errors).
    #[error("{0}")]
    Transient(String),
    /// The provider answered something we do not understand.
    #[error("{0}")]
    Protocol(String),
}

/// Counters of one job's calls.
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
    /// Longest a worker waits for a rate limit before handing the job back for later.
    pub max_wait: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Sends requests for one job under one credential.
#[derive(Clone)]
pub struct Fetcher {
    budget: Arc<dyn RateBudget>,
    key: String,
    host: String,
    policy: FetchPolicy,
    stats: Arc<FetchStats>,
}

fn jittered(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.min(10));
    let factor = rand::thread_rng().gen_range(0.5..1.5);
    exp.mul_f64(factor)
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

    /// Sends a GET-like request (it must be clonable), retrying and waiting per the policy.
    /// Returns 2xx and 304 responses; maps the rest to [`FetchError`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, FetchError> {
        let mut last_error = String::new();
        for attempt in 0..self.policy.attempts {
            self.wait_for_budget().await?;
            let Some(this) = request.try_clone() else {
                return Err(FetchError::Protocol("request cannot be retried".into()));
            };
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = match this.send().await {
                Ok(response) => response,
                Err(err) => {
                    last_error = if err.is_timeout() {
                        format!("{} timed out", self.host)
                    } else {
                        format!("{} could not be reached", self.host)
                    };
                    tracing::debug!(host = %self.host, attempt, error = %err, "provider request failed");
                    tokio::time::sleep(jittered(self.policy.base_backoff, attempt)).await;
                    continue;
                }
            };
            let now = Utc::now();
            let limits = RateLimitState::from_headers(response.headers(), now);
            let status = response.status();
            // A spent budget is shared with every worker, whatever this response was.
            if let (Some(0), Some(reset)) = (limits.remaining, limits.reset_at) {
                self.budget.block_until(&self.key, reset).await;
            }
            let throttled = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && (limits.remaining == Some(0) || limits.retry_after.is_some()))
                || (status == StatusCode::SERVICE_UNAVAILABLE && limits.retry_after.is_some());
            if throttled {
                let wait = limits
                    .wait(now)
                    .unwrap_or_else(|| jittered(Duration::from_secs(1), attempt));
                let until = now + chrono::Duration::from_std(wait).unwrap_or_default();
                self.budget.block_until(&self.key, until).await;
                last_error = format!("{} is rate limiting requests", self.host);
                continue;
            }
            if status.is_success() || status == StatusCode::NOT_MODIFIED {
                return Ok(response);
            }
            match status {
                StatusCode::UNAUTHORIZED => {
                    return Err(FetchError::Unauthorized(format!(
                        "{} no longer accepts the credential (HTTP 401): update the token",
                        self.host
                    )));
                }
                StatusCode::FORBIDDEN => {
                    return Err(FetchError::Unauthorized(format!(
                        "the credential lacks permission on {} (HTTP 403)",
                        self.host
                    )));
                }
                StatusCode::NOT_FOUND => {
                    return Err(FetchError::NotFound(format!("{} answered 404", self.host)));
                }
                s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                    last_error = format!("{} answered HTTP {}", self.host, s.as_u16());
                    tokio::time::sleep(jittered(self.policy.base_backoff, attempt)).await;
                }
                s => {
                    return Err(FetchError::Protocol(format!(
                        "{} answered HTTP {}",
                        self.host,
                        s.as_u16()
                    )));
                }
            }
        }
        // Out of attempts: a rate limit still in force hands the job back; else it is transient.
        if let Some(until) = self.budget.blocked_until(&self.key).await {
            return Err(FetchError::RateLimited { until });
        }
        Err(FetchError::Transient(last_error))
    }

    /// Sends and decodes JSON.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<(T, reqwest::header::HeaderMap), FetchError> {
        let response = self.send(request).await?;
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|_| FetchError::Transient(format!("{} dropped the response", self.host)))?;
        let value = serde_json::from_slice(&body).map_err(|e| {
            FetchError::Protocol(format!(
                "{} answered JSON Tether does not understand: {e}",
                self.host
            ))
        })?;
        Ok((value, headers))
    }
}
