//! Restart intensity (at most N restarts within a sliding window) and backoff.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// At most `max_restarts` restarts within any sliding `window`; one more and the
/// supervisor gives up (it stops its children and fails to its parent).
///
/// The default is 3 restarts within 60 seconds. `max_restarts == 0` means that any
/// crash makes the supervisor give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartIntensity {
    /// Restarts allowed within `window`.
    pub max_restarts: u32,
    /// The sliding window.
    pub window: Duration,
}

impl RestartIntensity {
    /// At most `max_restarts` within `window`.
    pub fn new(max_restarts: u32, window: Duration) -> Self {
        Self {
            max_restarts,
            window,
        }
    }
}

impl Default for RestartIntensity {
    fn default() -> Self {
        Self::new(3, Duration::from_secs(60))
    }
}

/// Delay before each restart, growing with the number of recent restarts.
///
/// The delay before the `n`-th restart within the intensity window (n ≥ 1) is
/// `initial * 2^(n-1)`, capped at `max`. [`Backoff::fixed`] always waits the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first restart in the window.
    pub initial: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
}

impl Backoff {
    /// Always wait `delay`.
    pub fn fixed(delay: Duration) -> Self {
        Self {
            initial: delay,
            max: delay,
        }
    }

    /// Doubling from `initial`, capped at `max`.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay before the `attempt`-th recent restart (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial
            .saturating_mul(1_u32 << doublings)
            .min(self.max.max(self.initial))
    }
}

/// Counts restarts in the sliding window (internal). Holds at most `max_restarts`
/// instants.
#[derive(Debug)]
pub(crate) struct RestartTracker {
    limit: RestartIntensity,
    recent: VecDeque<Instant>,
}

impl RestartTracker {
    pub(crate) fn new(limit: RestartIntensity) -> Self {
        Self {
            limit,
            recent: VecDeque::new(),
        }
    }

    /// Records a restart at `now` if the intensity allows it; `false` if this restart
    /// would exceed the limit (nothing is recorded then).
    pub(crate) fn try_record(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) >= self.limit.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.limit.max_restarts as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }

    /// Restarts recorded in the current window.
    pub(crate) fn recent(&self) -> u32 {
        u32::try_from(self.recent.len()).unwrap_or(u32::MAX)
    }

    /// Forgets all recorded restarts.
    pub(crate) fn reset(&mut self) {
        self.recent.clear();
    }

    pub(crate) fn limit(&self) -> RestartIntensity {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_n_restarts_in_the_window_then_refuses() {
        let start = Instant::now();
        let mut tracker = RestartTracker::new(RestartIntensity::new(3, Duration::from_secs(60)));
        for i in 0..3 {
            assert!(tracker.try_record(start + Duration::from_secs(i)));
        }
        assert!(!tracker.try_record(start + Duration::from_secs(10)));
        assert_eq!(tracker.recent(), 3);
    }

    #[test]
    fn old_restarts_slide_out_of_the_window() {
        let start = Instant::now();
        let mut tracker = RestartTracker::new(RestartIntensity::new(2, Duration::from_secs(10)));
        assert!(tracker.try_record(start));
        assert!(tracker.try_record(start + Duration::from_secs(5)));
        assert!(!tracker.try_record(start + Duration::from_secs(9)));
        assert!(tracker.try_record(start + Duration::from_secs(10)));
        assert!(!tracker.try_record(start + Duration::from_secs(14)));
        assert!(tracker.try_record(start + Duration::from_secs(15)));
    }

    #[test]
    fn zero_restarts_means_give_up_at_once() {
        let mut tracker = RestartTracker::new(RestartIntensity::new(0, Duration::from_secs(1)));
        assert!(!tracker.try_record(Instant::now()));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let backoff = Backoff::exponential(Duration::from_millis(10), Duration::from_millis(50));
        assert_eq!(backoff.delay(1), Duration::from_millis(10));
        assert_eq!(backoff.delay(2), Duration::from_millis(20));
        assert_eq!(backoff.delay(3), Duration::from_millis(40));
        assert_eq!(backoff.delay(4), Duration::from_millis(50));
        assert_eq!(backoff.delay(200), Duration::from_millis(50));
        assert_eq!(
            Backoff::fixed(Duration::from_millis(7)).delay(9),
            Duration::from_millis(7)
        );
    }

    proptest::proptest! {
        #[test]
        fn never_more_than_max_in_any_window(
            max in 0_u32..6,
            gaps in proptest::collection::vec(0_u64..30, 1..60),
        ) {
            let window = Duration::from_secs(20);
            let mut tracker = RestartTracker::new(RestartIntensity::new(max, window));
            let start = Instant::now();
            let mut now = start;
            let mut accepted: Vec<Instant> = Vec::new();
            for gap in gaps {
                now += Duration::from_secs(gap);
                if tracker.try_record(now) {
                    accepted.push(now);
                }
                let in_window = accepted.iter().filter(|t| now.duration_since(**t) < window).count();
                proptest::prop_assert!(in_window <= max as usize);
            }
        }
    }
}
