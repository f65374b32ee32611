//! Slows down password guessing: after a few failures for one email or one client address,
//! further attempts are refused for an exponentially growing period.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per email before a wait is imposed.
const FREE_EMAIL_FAILURES: u32 = 5;
/// Failures allowed per client address before a wait is imposed.
const FREE_ADDRESS_FAILURES: u32 = 20;
/// Longest imposed wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

/// In-process login throttle keyed by email and by client address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    records: Mutex<HashMap<String, Record>>,
}

/// The attempt must wait this long before it is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled(pub Duration);

fn keys(email: &str, address: &str) -> [(String, u32); 2] {
    [
        (
            format!("email:{}", email.trim().to_lowercase()),
            FREE_EMAIL_FAILURES,
        ),
        (format!("addr:{address}"), FREE_ADDRESS_FAILURES),
    ]
}

impl LoginThrottle {
    /// Whether an attempt for `email` from `address` may proceed now.
    pub fn check(&self, email: &str, address: &str) -> Result<(), Throttled> {
        let now = Instant::now();
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys(email, address)
            .iter()
            .filter_map(|(key, _)| records.get(key)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(Throttled(wait)),
            None => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, address: &str) {
        let now = Instant::now();
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() > 100_000 {
            records.retain(|_, r| now.duration_since(r.last_failure) < WINDOW);
        }
        for (key, free) in keys(email, address) {
            let record = records.entry(key).or_insert(Record {
                failures: 0,
                last_failure: now,
                blocked_until: None,
            });
            if now.duration_since(record.last_failure) > WINDOW {
                record.failures = 0;
            }
            record.failures += 1;
            record.last_failure = now;
            if record.failures >= free {
                let exponent = (record.failures - free).min(16);
                let wait = Duration::from_secs(1u64 << exponent).min(MAX_WAIT);
                record.blocked_until = Some(now + wait);
            }
        }
    }

    /// Forgets an email's failures after a successful login (the address keeps its record).
    pub fn succeeded(&self, email: &str) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.remove(&format!("email:{}", email.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_for_one_email_impose_a_growing_wait() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_EMAIL_FAILURES - 1 {
            throttle.failed("a@example.com", "1.1.1.1");
            assert!(throttle.check("a@example.com", "1.1.1.1").is_ok());
        }
        throttle.failed("A@example.com", "2.2.2.2");
        let Throttled(first) = throttle.check("a@example.com", "3.3.3.3").unwrap_err();
        throttle.failed("a@example.com", "3.3.3.3");
        let Throttled(second) = throttle.check("a@example.com", "3.3.3.3").unwrap_err();
        assert!(second > first);
        assert!(throttle.check("b@example.com", "4.4.4.4").is_ok());
        throttle.succeeded("a@example.com");
        assert!(throttle.check("a@example.com", "4.4.4.4").is_ok());
    }

    #[test]
    fn one_address_guessing_many_emails_is_slowed_down() {
        let throttle = LoginThrottle::default();
        for i in 0..FREE_ADDRESS_FAILURES {
            throttle.failed(&format!("user{i}@example.com"), "9.9.9.9");
        }
        assert!(throttle.check("new@example.com", "9.9.9.9").is_err());
        assert!(throttle.check("new@example.com", "8.8.8.8").is_ok());
    }
}
