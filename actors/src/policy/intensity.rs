//! [`RestartIntensity`] (at most N restarts within a sliding window) and the internal
//! tracker that applies it.

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
