//! Discoveries running in this process, so background work gives way to them: a metadata
//! refresh (one request per repository) waits between chunks while a discovery (the thing a
//! user is watching) runs, for a bounded time so a busy process still refreshes.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Counts running discoveries.
#[derive(Clone)]
pub struct Activity {
    running: Arc<watch::Sender<usize>>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// Held while a discovery runs.
pub struct Running(Activity);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Activity {
    /// Marks a discovery as running until the guard is dropped.
    pub fn running(&self) -> Running {
        self.running.send_modify(|n| *n += 1);
        Running(self.clone())
    }

    /// Discoveries running now.
    pub fn count(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until no discovery runs, or `at_most`.
    pub async fn quiet(&self, at_most: Duration) {
        let mut watcher = self.running.subscribe();
        let _ = tokio::time::timeout(at_most, watcher.wait_for(|n| *n == 0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn quiet_waits_for_the_last_discovery_and_no_longer_than_asked() {
        let activity = Activity::default();
        activity.quiet(Duration::from_secs(5)).await;
        let first = activity.running();
        let second = activity.running();
        assert_eq!(activity.count(), 2);
        let started = tokio::time::Instant::now();
        activity.quiet(Duration::from_millis(50)).await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        let waiter = tokio::spawn({
            let activity = activity.clone();
            async move { activity.quiet(Duration::from_secs(30)).await }
        });
        drop(first);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one discovery still runs");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("quiet returns once none runs")
            .unwrap();
        assert_eq!(activity.count(), 0);
    }
}
