//! [`Backoff`]: the delay before a restart.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
