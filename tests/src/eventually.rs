//! The one way a test waits for something to happen: poll a condition until it holds, or fail
//! naming what never happened. Never a fixed sleep followed by an assertion.

use std::time::Duration;

/// How long `eventually` rests between two checks.
const POLL: Duration = Duration::from_millis(100);

/// Checks `condition` until it returns `true`; panics naming `what` if it has not within
/// `timeout` (a check still running at the deadline is abandoned, so a hung check fails too).
pub async fn eventually(what: &str, timeout: Duration, mut condition: impl AsyncFnMut() -> bool) {
    let polling = async {
        while !condition().await {
            tokio::time::sleep(POLL).await;
        }
    };
    if tokio::time::timeout(timeout, polling).await.is_err() {
        panic!("timed out after {timeout:?} waiting for {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let mut checks = 0;
        eventually("the third check", Duration::from_secs(5), async || {
            checks += 1;
            checks == 3
        })
        .await;
        assert_eq!(checks, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 300ms waiting for the moon to turn blue")]
    async fn panics_naming_what_never_happened() {
        eventually(
            "the moon to turn blue",
            Duration::from_millis(300),
            async || false,
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for a check that never answers")]
    async fn a_check_that_hangs_fails_at_the_timeout() {
        eventually(
            "a check that never answers",
            Duration::from_millis(300),
            async || std::future::pending().await,
        )
        .await;
    }
}
