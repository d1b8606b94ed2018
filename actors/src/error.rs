//! The crate's errors: one enum per kind of failure a caller can meet.
//!
//! - [`SendError`]: a `tell` that could not be delivered; it gives the message back.
//! - [`AskError`]: an `ask` that produced no value; `Failed` carries the actor's own
//!   typed error, `Panicked` the panic message, the rest say why no handler ran.
//! - [`ActorError`]: system-level failures (names, starts, supervisors, shutdown).

use std::fmt;
use std::time::Duration;

/// A [`tell`](crate::ActorRef::tell) or [`try_tell`](crate::ActorRef::try_tell) that was
/// not delivered. The undelivered message is always given back.
///
/// `actor` is the actor's name, or its id when it is anonymous.
#[derive(thiserror::Error)]
pub enum SendError<M> {
    /// The actor has stopped for good: its mailbox is closed.
    #[error("actor `{actor}` is stopped")]
    Stopped {
        /// The actor's name or id.
        actor: String,
        /// The message that was not delivered.
        message: M,
    },
    /// The mailbox is full (only from `try_tell`; `tell` waits for room instead).
    #[error("mailbox of actor `{actor}` is full")]
    Overloaded {
        /// The actor's name or id.
        actor: String,
        /// The message that was not delivered.
        message: M,
    },
}

impl<M> SendError<M> {
    /// Gives back the message that was not delivered.
    pub fn into_inner(self) -> M {
        match self {
            Self::Stopped { message, .. } | Self::Overloaded { message, .. } => message,
        }
    }

    /// The name (or id) of the actor the message was meant for.
    pub fn actor(&self) -> &str {
        match self {
            Self::Stopped { actor, .. } | Self::Overloaded { actor, .. } => actor,
        }
    }

    /// `true` if the actor is stopped.
    pub fn is_stopped(&self) -> bool {
        matches!(self, Self::Stopped { .. })
    }

    /// `true` if the mailbox was full.
    pub fn is_overloaded(&self) -> bool {
        matches!(self, Self::Overloaded { .. })
    }
}

// Written by hand so that messages need not implement `Debug`.
impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (variant, actor) = match self {
            Self::Stopped { actor, .. } => ("Stopped", actor),
            Self::Overloaded { actor, .. } => ("Overloaded", actor),
        };
        f.debug_struct(variant)
            .field("actor", actor)
            .finish_non_exhaustive()
    }
}

/// An [`ask`](crate::ActorRef::ask) that did not produce a reply value.
///
/// Every ask ends with exactly one result: the reply, or one of these.
#[derive(Debug, thiserror::Error)]
pub enum AskError<E> {
    /// The handler ran and returned `Err`: the actor's own typed error.
    #[error("actor `{actor}` failed: {error}")]
    Failed {
        /// The actor's name or id.
        actor: String,
        /// The error returned by `handle_message`.
        #[source]
        error: E,
    },
    /// The handler panicked while handling this message (a crash of the actor).
    #[error("actor `{actor}` panicked: {message}")]
    Panicked {
        /// The actor's name or id.
        actor: String,
        /// The panic message.
        message: String,
    },
    /// The actor stopped before answering (or was already stopped).
    #[error("actor `{actor}` is stopped")]
    Stopped {
        /// The actor's name or id.
        actor: String,
    },
    /// No reply came within the caller's timeout (from `ask_timeout`).
    #[error("actor `{actor}` did not reply within {after:?}")]
    Timeout {
        /// The actor's name or id.
        actor: String,
        /// The timeout that elapsed.
        after: Duration,
    },
}

impl<E> AskError<E> {
    /// The name (or id) of the actor that was asked.
    pub fn actor(&self) -> &str {
        match self {
            Self::Failed { actor, .. }
            | Self::Panicked { actor, .. }
            | Self::Stopped { actor }
            | Self::Timeout { actor, .. } => actor,
        }
    }

    /// The actor's typed error, if the handler returned one.
    pub fn into_actor_error(self) -> Option<E> {
        match self {
            Self::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// System-level failures: spawning, naming, supervision and shutdown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// The name is already registered in this system.
    #[error("name `{name}` is already taken")]
    NameTaken {
        /// The contested name.
        name: String,
    },
    /// No actor or child with this name.
    #[error("no actor or child named `{name}`")]
    NotFound {
        /// The name looked for.
        name: String,
    },
    /// The supervisor already has a child with this id.
    #[error("supervisor `{supervisor}` already has a child `{id}`")]
    DuplicateChild {
        /// The supervisor's name or id.
        supervisor: String,
        /// The duplicate child id.
        id: String,
    },
    /// The actor could not start: its factory or `pre_start` failed or panicked.
    #[error("actor `{actor}` failed to start: {reason}")]
    StartFailed {
        /// The actor's name or id.
        actor: String,
        /// Why it did not start.
        reason: String,
    },
    /// The supervisor is stopped (stopped, removed, or gave up).
    #[error("supervisor `{supervisor}` is stopped")]
    SupervisorStopped {
        /// The supervisor's name or id.
        supervisor: String,
    },
    /// The system is shutting down and accepts no new actors.
    #[error("the actor system is shutting down")]
    ShuttingDown,
    /// Shutdown passed its deadline; the remaining tasks were aborted.
    #[error("shutdown did not finish within {after:?}; aborted: {remaining:?}")]
    ShutdownTimedOut {
        /// The configured shutdown timeout.
        after: Duration,
        /// Names (or ids) of the actors that were aborted.
        remaining: Vec<String>,
    },
    /// A configuration value is out of range (for example a zero mailbox capacity).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_error_gives_the_message_back() {
        let err = SendError::Overloaded {
            actor: "a".to_owned(),
            message: 7_u32,
        };
        assert!(err.is_overloaded());
        assert_eq!(err.actor(), "a");
        assert_eq!(err.to_string(), "mailbox of actor `a` is full");
        assert_eq!(err.into_inner(), 7);
    }

    #[test]
    fn send_error_debug_does_not_need_debug_messages() {
        struct Opaque;
        let err = SendError::Stopped {
            actor: "a".to_owned(),
            message: Opaque,
        };
        assert!(format!("{err:?}").contains("Stopped"));
    }

    #[test]
    fn ask_error_failed_keeps_the_typed_error_as_source() {
        let io = std::io::Error::other("boom");
        let err: AskError<std::io::Error> = AskError::Failed {
            actor: "a".to_owned(),
            error: io,
        };
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(err.to_string(), "actor `a` failed: boom");
        assert!(err.into_actor_error().is_some());
    }
}
