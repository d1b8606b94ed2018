//! [`ExitHandle`]: crash one incarnation of an actor from outside its task.
//!
//! Like an Erlang exit signal aimed at one process: the actor's task takes it between
//! messages (ahead of queued messages) or while [`Actor::before_message`] waits, and ends
//! that incarnation as a crash with the given reason; its supervisor then decides as for
//! any crash. A handle is bound to the incarnation that made it: once that incarnation
//! has ended, its signals are ignored, so a late signal never crashes a fresh instance.
//!
//! [`Actor::before_message`]: crate::Actor::before_message

use tokio::sync::mpsc;

/// One exit signal: which incarnation, and why.
#[derive(Debug)]
pub(crate) struct ExitSignal {
    pub(crate) incarnation: u64,
    pub(crate) reason: String,
}

/// The sending side of an actor's exit signals (one per actor task).
pub(crate) type ExitSender = mpsc::UnboundedSender<ExitSignal>;
/// The receiving side, owned by the actor's task.
pub(crate) type ExitReceiver = mpsc::UnboundedReceiver<ExitSignal>;

/// Crashes the incarnation of an actor that created it
/// (with [`ActorContext::exit_handle`](crate::ActorContext::exit_handle)).
///
/// Cheap to clone; `Send + Sync`. The channel is unbounded but a signal is sent only
/// by [`exit`](Self::exit), so it holds at most what callers sent.
#[derive(Debug, Clone)]
pub struct ExitHandle {
    tx: ExitSender,
    incarnation: u64,
}

impl ExitHandle {
    pub(crate) fn new(tx: ExitSender, incarnation: u64) -> Self {
        Self { tx, incarnation }
    }

    /// Ends the incarnation as a crash with `reason`, unless it has ended already.
    /// Returns `false` when the actor's task is gone (the signal could not be sent).
    pub fn exit(&self, reason: impl Into<String>) -> bool {
        self.tx
            .send(ExitSignal {
                incarnation: self.incarnation,
                reason: reason.into(),
            })
            .is_ok()
    }
}
