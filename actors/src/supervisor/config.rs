//! [`SupervisorConfig`]: strategy, restart intensity and backoff of a supervisor.

use std::time::Duration;

use super::strategy::Strategy;
use crate::policy::{Backoff, RestartIntensity};

/// How a supervisor reacts to its children's crashes.
///
/// Defaults: [`Strategy::OneForOne`], at most 3 restarts within 60 s, no backoff.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_wasm_actors::{Backoff, Strategy, SupervisorConfig};
///
/// let config = SupervisorConfig::new(Strategy::OneForAll)
///     .restart_limit(5, Duration::from_secs(10))
///     .backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1)));
/// assert_eq!(config.intensity.max_restarts, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SupervisorConfig {
    /// Which children are restarted when one crashes.
    pub strategy: Strategy,
    /// At most this many restarts in the window, or the supervisor gives up.
    pub intensity: RestartIntensity,
    /// Delay before restarts, if any.
    pub backoff: Option<Backoff>,
}

impl SupervisorConfig {
    /// A config with `strategy` and the default intensity and backoff.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            ..Self::default()
        }
    }

    /// At most `max_restarts` restarts within `window`.
    pub fn restart_limit(mut self, max_restarts: u32, window: Duration) -> Self {
        self.intensity = RestartIntensity::new(max_restarts, window);
        self
    }

    /// Waits before each restart.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }
}
