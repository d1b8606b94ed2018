//! [`ExitHandle`]: crash one incarnation of an actor from outside its task.
//!
//! Like an Erlang exit signal aimed at one process: the actor's task takes it between
//! messages (ahead of queued messages) or while [`Actor::before_message`] waits, and ends
//! that incarnation as a crash with the given reason; its supervisor then decides as for
//! any crash. A handle is bound to the incarnation that made it: once that incarnation
//! has ended, its signals are ignored, so a late signal never crashes a fresh instance.
//!
//! An actor keeps one small cell for its signals (the pending signal and a wake-up), not
//! a channel: a signal is rare, and every live actor would carry a channel's buffer.
//!
//! [`Actor::before_message`]: crate::Actor::before_message

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One exit signal: which incarnation, and why.
#[derive(Debug)]
pub(crate) struct ExitSignal {
    pub(crate) incarnation: u64,
    pub(crate) reason: String,
}

/// An actor task's exit signals: at most one pending (the first for the latest
/// incarnation signalled; one incarnation can only end once), and a wake-up for the task.
#[derive(Debug, Default)]
pub(crate) struct Exits {
    pending: Mutex<Option<ExitSignal>>,
    wake: Notify,
    /// Set when the actor's task has ended: signals are refused.
    closed: AtomicBool,
}

impl Exits {
    fn send(&self, signal: ExitSignal) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        if let Ok(mut pending) = self.pending.lock()
            && pending
                .as_ref()
                .is_none_or(|p| p.incarnation < signal.incarnation)
        {
            *pending = Some(signal);
        }
        // Stores a permit if the task is not waiting: the next `recv` finds the signal.
        self.wake.notify_one();
        true
    }

    /// The next signal; waits for one. Cancel-safe: a signal stays pending until taken.
    pub(crate) async fn recv(&self) -> ExitSignal {
        loop {
            if let Some(signal) = self.pending.lock().ok().and_then(|mut p| p.take()) {
                return signal;
            }
            self.wake.notified().await;
        }
    }
}

/// The actor task's side of its [`Exits`]: refuses further signals when dropped.
#[derive(Debug, Default)]
pub(crate) struct ExitReceiver(Arc<Exits>);

impl ExitReceiver {
    /// The cell handles send to.
    pub(crate) fn exits(&self) -> Arc<Exits> {
        Arc::clone(&self.0)
    }

    /// The next signal; waits for one.
    pub(crate) async fn recv(&self) -> ExitSignal {
        self.0.recv().await
    }
}

impl Drop for ExitReceiver {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
    }
}

/// Crashes the incarnation of an actor that created it
/// (with [`ActorContext::exit_handle`](crate::ActorContext::exit_handle)).
///
/// Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct ExitHandle {
    exits: Arc<Exits>,
    incarnation: u64,
}

impl ExitHandle {
    pub(crate) fn new(exits: Arc<Exits>, incarnation: u64) -> Self {
        Self { exits, incarnation }
    }

    /// Ends the incarnation as a crash with `reason`, unless it has ended already.
    /// Returns `false` when the actor's task is gone (the signal could not be sent).
    pub fn exit(&self, reason: impl Into<String>) -> bool {
        self.exits.send(ExitSignal {
            incarnation: self.incarnation,
            reason: reason.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_signal_of_the_latest_incarnation_is_kept() {
        let receiver = ExitReceiver::default();
        let old = ExitHandle::new(receiver.exits(), 1);
        let new = ExitHandle::new(receiver.exits(), 2);
        assert!(new.exit("first"));
        assert!(new.exit("second"));
        assert!(old.exit("stale"));
        let signal = receiver.recv().await;
        assert_eq!((signal.incarnation, signal.reason.as_str()), (2, "first"));
        // Nothing else pending: a later signal is the next one taken.
        assert!(new.exit("third"));
        assert_eq!(receiver.recv().await.reason, "third");
    }

    #[tokio::test]
    async fn a_waiting_task_is_woken_and_a_gone_task_refuses() {
        let receiver = ExitReceiver::default();
        let handle = ExitHandle::new(receiver.exits(), 1);
        let sender = tokio::spawn({
            let handle = handle.clone();
            async move {
                tokio::task::yield_now().await;
                handle.exit("woken")
            }
        });
        assert_eq!(receiver.recv().await.reason, "woken");
        assert!(sender.await.unwrap());
        drop(receiver);
        assert!(!handle.exit("nobody listens"));
    }
}
