//! [`ShutdownPolicy`]: how long stopping an actor may take.

use std::time::Duration;

use tokio::time::Instant;

/// How long stopping an actor may take when its supervisor (or the system) stops it.
///
/// The default is `Graceful(5 s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownPolicy {
    /// The message being handled may finish and `post_stop` runs; whatever is still
    /// running after the duration is cancelled.
    Graceful(Duration),
    /// The message being handled is cancelled at once and `post_stop` is skipped.
    Immediate,
    /// Wait as long as the message and `post_stop` take.
    Infinity,
}

impl Default for ShutdownPolicy {
    fn default() -> Self {
        Self::Graceful(Duration::from_secs(5))
    }
}

impl ShutdownPolicy {
    /// The deadline of a stop requested now (`None`: no deadline).
    pub(crate) fn deadline_from_now(self) -> Option<Instant> {
        match self {
            Self::Graceful(limit) => Some(Instant::now() + limit),
            Self::Immediate => Some(Instant::now()),
            Self::Infinity => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_deadlines() {
        assert!(ShutdownPolicy::Infinity.deadline_from_now().is_none());
        assert!(ShutdownPolicy::Immediate.deadline_from_now().is_some());
        assert_eq!(
            ShutdownPolicy::default(),
            ShutdownPolicy::Graceful(Duration::from_secs(5))
        );
    }
}
