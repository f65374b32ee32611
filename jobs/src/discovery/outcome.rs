//! How a discovery run ends, decided from how its listing ended alone: the run's outcome, the
//! connection's status and message, the structured issues, and when to come back early. A pure
//! table, so every row of it is tested here.

use super::RunFailure;
use crate::http::FetchError;
use chrono::{DateTime, Utc};
use entities::{ConnectionStatus, DiscoveryOutcome};

/// The stable code of a discovery issue, as clients read it from `discoveryRuns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    /// The provider asked us to wait longer than a worker holds on.
    RateLimited,
    /// The credential was refused: the user must replace it.
    Unauthorized,
    /// The app installation was uninstalled or suspended.
    Suspended,
    /// The server's GitHub App id or private key was refused: an operator must fix the settings.
    AppMisconfigured,
    /// The scope is gone, or the credential can no longer see it.
    ScopeNotFound,
    /// The provider kept failing (5xx, timeouts, connection errors).
    ProviderUnavailable,
    /// The provider answered something Tether does not understand.
    ProviderError,
    /// The stored scope or credential could not be read (an operator must look).
    ConnectionUnreadable,
    /// The worker running the discovery stopped; another took over.
    WorkerLost,
    /// Someone cancelled the run.
    Cancelled,
    /// The run took longer than its deadline.
    DeadlineExceeded,
    /// The database failed during the run.
    DatabaseError,
    /// A provider's answer was larger than a job reads (`TETHER_PROVIDER_MAX_BODY_BYTES`).
    ResponseTooLarge,
}

impl IssueCode {
    /// The code as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "RATE_LIMITED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Suspended => "SUSPENDED",
            Self::AppMisconfigured => "APP_MISCONFIGURED",
            Self::ScopeNotFound => "SCOPE_NOT_FOUND",
            Self::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Self::ProviderError => "PROVIDER_ERROR",
            Self::ConnectionUnreadable => "CONNECTION_UNREADABLE",
            Self::WorkerLost => "WORKER_LOST",
            Self::Cancelled => "CANCELLED",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::DatabaseError => "DATABASE_ERROR",
            Self::ResponseTooLarge => "RESPONSE_TOO_LARGE",
        }
    }
}

/// One structured issue of a run: `{code, message, subject}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// What kind of problem.
    pub code: IssueCode,
    /// What happened, for people.
    pub message: String,
    /// What it is about (the scope key, or the connection).
    pub subject: String,
}

impl Issue {
    /// An issue about `subject`.
    pub fn new(code: IssueCode, message: &str, subject: &str) -> Self {
        Self {
            code,
            message: message.to_owned(),
            subject: subject.to_owned(),
        }
    }

    /// Issues as the run row stores them.
    pub fn json(issues: &[Issue]) -> serde_json::Value {
        issues
            .iter()
            .map(|i| {
                serde_json::json!({"code": i.code.as_str(), "message": i.message, "subject": i.subject})
            })
            .collect()
    }
}

/// What a run's end means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The run's outcome.
    pub outcome: DiscoveryOutcome,
    /// The connection's new status.
    pub status: ConnectionStatus,
    /// Its human message.
    pub message: String,
    /// The run's issues.
    pub issues: Vec<Issue>,
    /// When to come back regardless of the schedule (a rate limit's reset).
    pub retry_at: Option<DateTime<Utc>>,
}

/// Decides the end of a run about `subject` whose listing ended with `listing`, after
/// `counters` (added, updated, unchanged, gone) rows. A run that listed some rows before it
/// was cut short is `PARTIAL`: what it listed is kept, nothing was marked gone.
pub fn verdict(
    listing: &Result<(), RunFailure>,
    (added, updated, unchanged, gone): (i64, i64, i64, i64),
    subject: &str,
) -> Verdict {
    let listed_any = added + updated + unchanged > 0;
    let cut_short = if listed_any {
        DiscoveryOutcome::Partial
    } else {
        DiscoveryOutcome::Failed
    };
    let ended = |outcome, status, message: String, code| Verdict {
        outcome,
        status,
        issues: vec![Issue::new(code, &message, subject)],
        message,
        retry_at: None,
    };
    let failure = match listing {
        Ok(()) => {
            return Verdict {
                outcome: DiscoveryOutcome::Succeeded,
                status: ConnectionStatus::Active,
                message: format!(
                    "{} repositories; {added} new, {updated} changed, {gone} gone",
                    added + updated + unchanged
                ),
                issues: Vec::new(),
                retry_at: None,
            };
        }
        Err(RunFailure::Unreadable(err)) => {
            return ended(
                DiscoveryOutcome::Failed,
                ConnectionStatus::Degraded,
                format!("Discovery could not start: {err}"),
                IssueCode::ConnectionUnreadable,
            );
        }
        // The connection keeps the status it had before the run (its caller knows it).
        Err(RunFailure::Cancelled) => {
            return ended(
                DiscoveryOutcome::Cancelled,
                ConnectionStatus::Active,
                "Discovery was cancelled".to_owned(),
                IssueCode::Cancelled,
            );
        }
        Err(RunFailure::DeadlineExceeded(limit)) => {
            return ended(
                cut_short,
                ConnectionStatus::Degraded,
                format!(
                    "Discovery took longer than its deadline of {} s; what it listed is kept",
                    limit.as_secs()
                ),
                IssueCode::DeadlineExceeded,
            );
        }
        Err(RunFailure::Fetch(failure)) => failure,
    };
    match failure {
        FetchError::RateLimited { until } => Verdict {
            outcome: DiscoveryOutcome::Partial,
            status: ConnectionStatus::Degraded,
            message: format!(
                "Rate limited by the provider; discovery resumes at {}",
                until.to_rfc3339()
            ),
            issues: vec![Issue::new(
                IssueCode::RateLimited,
                &format!("rate limited until {}", until.to_rfc3339()),
                subject,
            )],
            retry_at: Some(*until),
        },
        FetchError::Unauthorized(message) => ended(
            cut_short,
            ConnectionStatus::Unauthorized,
            message.clone(),
            IssueCode::Unauthorized,
        ),
        FetchError::Suspended(message) => ended(
            DiscoveryOutcome::Failed,
            ConnectionStatus::Suspended,
            message.clone(),
            IssueCode::Suspended,
        ),
        FetchError::NotFound(message) => ended(
            DiscoveryOutcome::Failed,
            ConnectionStatus::Unauthorized,
            message.clone(),
            IssueCode::ScopeNotFound,
        ),
        // Nothing the user can do: degraded until an operator fixes the server's settings.
        FetchError::AppMisconfigured(message) => ended(
            cut_short,
            ConnectionStatus::Degraded,
            message.clone(),
            IssueCode::AppMisconfigured,
        ),
        FetchError::Transient(_) | FetchError::Protocol(_) | FetchError::TooLarge(_) => {
            let code = match failure {
                FetchError::Transient(_) => IssueCode::ProviderUnavailable,
                FetchError::TooLarge(_) => IssueCode::ResponseTooLarge,
                _ => IssueCode::ProviderError,
            };
            Verdict {
                outcome: cut_short,
                status: ConnectionStatus::Degraded,
                message: format!("Discovery was cut short: {failure}"),
                issues: vec![Issue::new(code, &failure.to_string(), subject)],
                retry_at: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::UnreadableScope;
    use crate::scope::InvalidInput;
    use DiscoveryOutcome::{Failed, Partial, Succeeded};

    const NONE: (i64, i64, i64, i64) = (0, 0, 0, 0);
    const SOME: (i64, i64, i64, i64) = (3, 1, 2, 0);

    fn fetch(err: FetchError) -> Result<(), RunFailure> {
        Err(RunFailure::Fetch(err))
    }

    fn row(v: &Verdict) -> (DiscoveryOutcome, ConnectionStatus, Option<&'static str>) {
        (
            v.outcome,
            v.status,
            v.issues.first().map(|i| i.code.as_str()),
        )
    }

    #[test]
    fn a_complete_listing_succeeds_and_counts() {
        let v = verdict(&Ok(()), (5, 1, 4, 2), "s");
        assert_eq!(row(&v), (Succeeded, ConnectionStatus::Active, None));
        assert_eq!(v.message, "10 repositories; 5 new, 1 changed, 2 gone");
        assert_eq!(v.retry_at, None);
    }

    #[test]
    fn every_failure_maps_to_its_outcome_status_and_code() {
        let until = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let msg = || "m".to_owned();
        let table = [
            (
                fetch(FetchError::RateLimited { until }),
                NONE,
                (Partial, ConnectionStatus::Degraded, Some("RATE_LIMITED")),
            ),
            (
                fetch(FetchError::Unauthorized(msg())),
                NONE,
                (Failed, ConnectionStatus::Unauthorized, Some("UNAUTHORIZED")),
            ),
            (
                fetch(FetchError::Unauthorized(msg())),
                SOME,
                (
                    Partial,
                    ConnectionStatus::Unauthorized,
                    Some("UNAUTHORIZED"),
                ),
            ),
            (
                fetch(FetchError::Suspended(msg())),
                SOME,
                (Failed, ConnectionStatus::Suspended, Some("SUSPENDED")),
            ),
            (
                fetch(FetchError::AppMisconfigured(msg())),
                NONE,
                (
                    Failed,
                    ConnectionStatus::Degraded,
                    Some("APP_MISCONFIGURED"),
                ),
            ),
            (
                fetch(FetchError::AppMisconfigured(msg())),
                SOME,
                (
                    Partial,
                    ConnectionStatus::Degraded,
                    Some("APP_MISCONFIGURED"),
                ),
            ),
            (
                fetch(FetchError::NotFound(msg())),
                SOME,
                (
                    Failed,
                    ConnectionStatus::Unauthorized,
                    Some("SCOPE_NOT_FOUND"),
                ),
            ),
            (
                fetch(FetchError::Transient(msg())),
                NONE,
                (
                    Failed,
                    ConnectionStatus::Degraded,
                    Some("PROVIDER_UNAVAILABLE"),
                ),
            ),
            (
                fetch(FetchError::Transient(msg())),
                SOME,
                (
                    Partial,
                    ConnectionStatus::Degraded,
                    Some("PROVIDER_UNAVAILABLE"),
                ),
            ),
            (
                fetch(FetchError::Protocol(msg())),
                SOME,
                (Partial, ConnectionStatus::Degraded, Some("PROVIDER_ERROR")),
            ),
            (
                fetch(FetchError::TooLarge(msg())),
                NONE,
                (
                    Failed,
                    ConnectionStatus::Degraded,
                    Some("RESPONSE_TOO_LARGE"),
                ),
            ),
            (
                fetch(FetchError::TooLarge(msg())),
                SOME,
                (
                    Partial,
                    ConnectionStatus::Degraded,
                    Some("RESPONSE_TOO_LARGE"),
                ),
            ),
            (
                Err(RunFailure::Unreadable(super::super::PrepareError::Scope(
                    UnreadableScope {
                        connection: uuid::Uuid::nil(),
                        cause: InvalidInput::new("groupPath", "bad"),
                    },
                ))),
                NONE,
                (
                    Failed,
                    ConnectionStatus::Degraded,
                    Some("CONNECTION_UNREADABLE"),
                ),
            ),
        ];
        for (listing, counters, expected) in table {
            let v = verdict(&listing, counters, "gitlab:gitlab.com:ghost");
            assert_eq!(row(&v), expected, "{listing:?}");
            assert_eq!(v.issues[0].subject, "gitlab:gitlab.com:ghost");
            assert!(!v.message.is_empty());
        }
    }

    #[test]
    fn a_long_rate_limit_brings_the_connection_back_at_the_reset() {
        let until = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let v = verdict(&fetch(FetchError::RateLimited { until }), SOME, "s");
        assert_eq!(v.retry_at, Some(until));
        assert!(v.message.contains(&until.to_rfc3339()), "{}", v.message);
    }

    #[test]
    fn issues_are_stored_as_code_message_subject() {
        let json = Issue::json(&[Issue::new(IssueCode::WorkerLost, "gone", "c1")]);
        assert_eq!(
            json,
            serde_json::json!([{"code": "WORKER_LOST", "message": "gone", "subject": "c1"}])
        );
    }
}
