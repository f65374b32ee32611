//! Reading providers' rate-limit headers into one shape.
//!
//! GitHub sends `x-ratelimit-remaining`/`x-ratelimit-reset` (epoch seconds); GitLab sends
//! `RateLimit-Remaining`/`RateLimit-Reset` (epoch seconds); Azure DevOps sends
//! `X-RateLimit-Delay` (seconds it delayed us), `X-RateLimit-Remaining` and `X-RateLimit-Reset`;
//! everyone may send `Retry-After` (delta seconds or an HTTP date) with 429 or 503.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// What the provider told us about our budget in one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitState {
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// When the window resets.
    pub reset_at: Option<DateTime<Utc>>,
    /// How long to wait before the next request (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Azure DevOps: how long the provider already delayed this request.
    pub delayed: Option<Duration>,
}

/// The longest wait any header is believed for: a provider (or a self-managed server pretending
/// to be one) asking for more is asked again after this.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Seconds as a duration, whatever the number: negative and non-finite values are ignored,
/// huge ones are clamped (`Duration::from_secs_f64` would panic on them).
fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0)
        .then(|| Duration::try_from_secs_f64(value).unwrap_or(LONGEST_WAIT))
        .map(|d| d.min(LONGEST_WAIT))
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Epoch seconds, or (for small values, as in the IETF draft) seconds from now.
fn reset_time(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let number: f64 = value.parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    if number > 1_000_000_000.0 {
        DateTime::from_timestamp(number as i64, 0)
    } else {
        Some(now + chrono::Duration::milliseconds((number * 1000.0) as i64))
    }
}

/// `Retry-After`: delta-seconds or an HTTP date.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(value) = value.parse::<f64>() {
        return seconds(value);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some(
        (at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(LONGEST_WAIT),
    )
}

impl RateLimitState {
    /// Reads every known rate-limit header.
    pub fn from_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Self {
        let remaining = header(headers, &["x-ratelimit-remaining", "ratelimit-remaining"])
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v as u64);
        let reset_at = header(headers, &["x-ratelimit-reset", "ratelimit-reset"])
            .and_then(|v| reset_time(v, now));
        let retry_after = header(headers, &["retry-after"]).and_then(|v| retry_after(v, now));
        let delayed = header(headers, &["x-ratelimit-delay"])
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .and_then(seconds);
        Self {
            remaining,
            reset_at,
            retry_after,
            delayed,
        }
    }

    /// How long to wait before the next request, if at all: an explicit `Retry-After`, or the
    /// time to the reset when the budget is spent.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        if let Some(wait) = self.retry_after {
            return Some(wait);
        }
        match (self.remaining, self.reset_at) {
            (Some(0), Some(reset)) => Some(
                (reset - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(LONGEST_WAIT),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn github_spent_budget_waits_until_the_reset() {
        let state = RateLimitState::from_headers(
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1800000042"),
            ]),
            now(),
        );
        assert_eq!(state.remaining, Some(0));
        assert_eq!(state.wait(now()), Some(Duration::from_secs(42)));
    }

    #[test]
    fn gitlab_headers_with_budget_left_do_not_wait() {
        let state = RateLimitState::from_headers(
            &headers(&[
                ("RateLimit-Remaining", "1999"),
                ("RateLimit-Reset", "1800000060"),
            ]),
            now(),
        );
        assert_eq!(state.remaining, Some(1999));
        assert_eq!(state.wait(now()), None);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(retry_after("120", now()), Some(Duration::from_secs(120)));
        let date = (now() + chrono::Duration::seconds(30)).to_rfc2822();
        assert_eq!(retry_after(&date, now()), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("soon", now()), None);
        let state = RateLimitState::from_headers(&headers(&[("Retry-After", "7")]), now());
        assert_eq!(state.wait(now()), Some(Duration::from_secs(7)));
    }

    #[test]
    fn absurd_headers_never_panic_and_never_wait_forever() {
        for value in ["1e20", "1e308", "inf", "NaN", "-5", "99999999999999999999"] {
            let state = RateLimitState::from_headers(
                &headers(&[
                    ("Retry-After", value),
                    ("X-RateLimit-Delay", value),
                    ("x-ratelimit-remaining", value),
                    ("x-ratelimit-reset", value),
                ]),
                now(),
            );
            assert!(
                state.wait(now()).is_none_or(|w| w <= LONGEST_WAIT),
                "{value}: {state:?}"
            );
        }
        assert_eq!(retry_after("1e20", now()), Some(LONGEST_WAIT));
    }

    #[test]
    fn azure_delay_and_relative_resets_are_read() {
        let state = RateLimitState::from_headers(
            &headers(&[
                ("X-RateLimit-Delay", "0.5"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "10"),
            ]),
            now(),
        );
        assert_eq!(state.delayed, Some(Duration::from_millis(500)));
        assert_eq!(state.wait(now()), Some(Duration::from_secs(10)));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;
        use reqwest::header::{HeaderName, HeaderValue};

        /// What a hostile or broken server might put in a rate-limit header: numbers of every
        /// size and sign (fractions, exponents, NaN, infinities), dates far in the past and
        /// future, and noise.
        fn header_value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<f64>().prop_map(|v| v.to_string()),
                any::<f64>().prop_map(|v| format!("{v:e}")),
                any::<i64>().prop_map(|v| v.to_string()),
                any::<u128>().prop_map(|v| v.to_string()),
                Just("NaN".to_owned()),
                Just("inf".to_owned()),
                Just("-inf".to_owned()),
                (-62_135_596_800i64..253_402_300_799i64).prop_map(|t| {
                    DateTime::from_timestamp(t, 0)
                        .map(|d| d.to_rfc2822())
                        .unwrap_or_default()
                }),
                "[0-9eE+.-]{0,40}",
                "\\PC{0,40}",
            ]
        }

        fn names() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "retry-after",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
                "ratelimit-remaining",
                "ratelimit-reset",
                "x-ratelimit-delay",
            ])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// No header value panics, and every wait it yields is finite and at most a day,
            /// whenever "now" is.
            #[test]
            fn any_rate_limit_headers_give_a_bounded_wait(
                pairs in prop::collection::vec((names(), header_value()), 0..8),
                now_secs in -62_135_596_800i64..253_402_300_799i64,
            ) {
                let now = DateTime::from_timestamp(now_secs, 0).unwrap();
                let mut map = HeaderMap::new();
                for (name, value) in &pairs {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        map.append(HeaderName::from_static(name), value);
                    }
                }
                let state = RateLimitState::from_headers(&map, now);
                prop_assert!(state.wait(now).is_none_or(|w| w <= LONGEST_WAIT), "{state:?}");
                prop_assert!(state.retry_after.is_none_or(|w| w <= LONGEST_WAIT));
                prop_assert!(state.delayed.is_none_or(|w| w <= LONGEST_WAIT));
            }

            /// `Retry-After` alone, as any text: a wait of at most a day, or none.
            #[test]
            fn any_retry_after_is_at_most_a_day(value in header_value()) {
                let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
                prop_assert!(retry_after(&value, now).is_none_or(|w| w <= LONGEST_WAIT));
            }
        }
    }
}
