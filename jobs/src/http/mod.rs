//! The one HTTP stack every provider request goes through, live checks, listings and metadata
//! refresh alike: two outbound clients (operator-configured endpoints, and SSRF-guarded
//! user-supplied URLs), a [`Fetcher`] that retries, honours the providers' rate-limit headers
//! through budgets shared by every worker, and caps every body it reads, and one error type.

mod budget;
mod error;
mod fetcher;
mod guard;
mod ratelimit;

pub use budget::{LocalBudget, RateBudget, RedisBudget, budget_key};
pub use error::FetchError;
pub use fetcher::{FetchPolicy, FetchStats, Fetcher, next_link};
pub use guard::{ClientError, HttpClients, NetworkPolicy, Refusal, verdict};
pub use ratelimit::{RateLimitState, retry_after};
