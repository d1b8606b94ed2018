//! Lifecycle events, published on a bounded broadcast channel.
//!
//! Subscribe with [`ActorSystem::subscribe`](crate::ActorSystem::subscribe). A slow
//! subscriber that falls more than `event_capacity` events behind gets
//! `RecvError::Lagged` and skips ahead; publishing never blocks an actor.

use std::fmt;

/// Why an actor stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// It stopped itself ([`ActorContext::stop`](crate::ActorContext::stop) or
    /// [`ErrorAction::Stop`](crate::ErrorAction::Stop)) and was not restarted.
    Normal,
    /// It was stopped from outside: removed, its supervisor stopped, or system shutdown.
    Shutdown,
    /// It crashed and was not restarted (policy, intensity, or its supervisor gave up).
    Failed(String),
}

impl StopReason {
    /// `true` for [`StopReason::Normal`] and [`StopReason::Shutdown`].
    pub fn is_normal(&self) -> bool {
        !matches!(self, Self::Failed(_))
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// Something that happened to an actor or supervisor. Actors are named by their
/// name, or their id when anonymous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// First incarnation started (`pre_start` succeeded).
    Started {
        /// The actor's name or id.
        actor: String,
    },
    /// A new incarnation started after the previous one ended.
    Restarted {
        /// The actor's name or id.
        actor: String,
        /// Why it was restarted (its crash, or a sibling's under the strategy).
        reason: String,
    },
    /// Stopped for good; its mailbox is closed.
    Stopped {
        /// The actor's name or id.
        actor: String,
        /// Why.
        reason: StopReason,
    },
    /// A top-level supervisor exceeded its restart intensity and stopped its tree.
    SupervisorGaveUp {
        /// The supervisor's name or id.
        supervisor: String,
        /// The failure that made it give up.
        reason: String,
    },
}

impl LifecycleEvent {
    /// The actor (or supervisor) the event is about.
    pub fn actor(&self) -> &str {
        match self {
            Self::Started { actor }
            | Self::Restarted { actor, .. }
            | Self::Stopped { actor, .. } => actor,
            Self::SupervisorGaveUp { supervisor, .. } => supervisor,
        }
    }
}
