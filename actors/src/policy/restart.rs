//! [`RestartPolicy`]: whether a child is restarted after its incarnation ends.

/// When a child is restarted after its incarnation ends.
///
/// | policy | after a crash | after a normal stop |
/// |---|---|---|
/// | `Permanent` (default) | restarted | restarted |
/// | `Transient` | restarted | stays stopped |
/// | `Temporary` | stays stopped | stays stopped |
///
/// A crash is an error with [`ErrorAction::Restart`](crate::ErrorAction::Restart), a
/// panic, a failed start or a failed health check. A normal stop is
/// [`ActorContext::stop`](crate::ActorContext::stop) or
/// [`ErrorAction::Stop`](crate::ErrorAction::Stop). A child that stays stopped is
/// removed from its supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestartPolicy {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after a crash.
    Transient,
    /// Never restarted.
    Temporary,
}

impl RestartPolicy {
    /// Whether an incarnation that ended this way is restarted.
    pub fn restarts_after(self, crashed: bool) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => crashed,
            Self::Temporary => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_table() {
        assert!(RestartPolicy::Permanent.restarts_after(true));
        assert!(RestartPolicy::Permanent.restarts_after(false));
        assert!(RestartPolicy::Transient.restarts_after(true));
        assert!(!RestartPolicy::Transient.restarts_after(false));
        assert!(!RestartPolicy::Temporary.restarts_after(true));
        assert!(!RestartPolicy::Temporary.restarts_after(false));
    }
}
