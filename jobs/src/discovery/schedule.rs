//! Adaptive scheduling: a connection that changed is looked at again soon, a quiet one less and
//! less often (bounded), and a failing one backs off the same way.

use std::time::Duration;

/// Bounds of the adaptive interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulePolicy {
    /// The interval after a run that changed something (default 10 min).
    pub min: Duration,
    /// The longest interval (default 12 h).
    pub max: Duration,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        Self {
            min: Duration::from_secs(10 * 60),
            max: Duration::from_secs(12 * 60 * 60),
        }
    }
}

impl SchedulePolicy {
    /// The interval after a run: `min` if it changed something and succeeded, else twice the
    /// previous interval, within `[min, max]`.
    pub fn next(&self, previous: Option<Duration>, changed: bool, failed: bool) -> Duration {
        if changed && !failed {
            return self.min;
        }
        previous
            .map(|p| p.saturating_mul(2))
            .unwrap_or(self.min)
            .clamp(self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_connections_double_up_to_the_cap_and_changes_reset() {
        let policy = SchedulePolicy::default();
        let mut interval = policy.next(None, true, false);
        assert_eq!(interval, policy.min);
        let mut seen = vec![interval];
        for _ in 0..10 {
            interval = policy.next(Some(interval), false, false);
            seen.push(interval);
        }
        assert_eq!(seen[1], policy.min * 2);
        assert_eq!(*seen.last().unwrap(), policy.max);
        assert_eq!(policy.next(Some(policy.max), true, false), policy.min);
        assert_eq!(
            policy.next(Some(policy.min), true, true),
            policy.min * 2,
            "failures back off"
        );
    }
}
