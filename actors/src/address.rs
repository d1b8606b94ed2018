//! [`ActorRef`]: the typed, cheap-to-clone address of an actor.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::actor::Actor;
use crate::error::{AskError, SendError};
use crate::id::ActorId;
use crate::mailbox::{Envelope, MailboxSender};

/// Identity shared by all clones of one address.
#[derive(Debug)]
pub(crate) struct ActorInfo {
    pub(crate) id: ActorId,
    pub(crate) name: Option<String>,
    /// The name, or the id when anonymous: what errors and events call the actor.
    pub(crate) label: String,
    /// Messages sent and not yet finished (queued, or being handled).
    pending: AtomicUsize,
}

impl ActorInfo {
    pub(crate) fn new(id: ActorId, name: Option<String>) -> Self {
        let label = name.clone().unwrap_or_else(|| id.to_string());
        Self {
            id,
            name,
            label,
            pending: AtomicUsize::new(0),
        }
    }

    /// Counts a message about to be sent (before it can be received).
    fn sending(&self) {
        self.pending.fetch_add(1, Ordering::SeqCst);
    }

    /// A message was not sent after all, or its handling is finished (handled, cancelled
    /// or answered `Stopped`).
    pub(crate) fn finished(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The address of a running actor of type `A`.
///
/// Cloning is cheap (a channel sender and an `Arc`); the address is `Send + Sync`.
/// It stays valid across restarts of the actor: a restarted actor keeps its mailbox.
/// Once the actor has stopped for good, every send fails with a *stopped* error.
///
/// Messages from one sender are handled in the order they were sent.
pub struct ActorRef<A: Actor> {
    tx: MailboxSender<A>,
    info: Arc<ActorInfo>,
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            info: Arc::clone(&self.info),
        }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.info.id)
            .field("name", &self.info.name)
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.info.id == other.info.id
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn new(tx: MailboxSender<A>, info: Arc<ActorInfo>) -> Self {
        Self { tx, info }
    }

    /// The identity shared by all clones of this address.
    pub(crate) fn info(&self) -> &ActorInfo {
        &self.info
    }

    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.info.id
    }

    /// The actor's registered name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.info.name.as_deref()
    }

    /// The name, or the id when anonymous (as used in errors and events).
    pub fn label(&self) -> &str {
        &self.info.label
    }

    /// `false` once the actor has stopped for good (its mailbox is closed).
    /// An actor being restarted is alive.
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }

    /// `true` when no message sent to this address is queued or being handled: every
    /// message sent so far has been handled (or answered `Stopped`).
    ///
    /// Whoever checks this and then works with the actor's state by another way (as the
    /// component host does when it runs a call on the caller's task) knows that no
    /// earlier message is still to come.
    pub fn is_idle(&self) -> bool {
        self.info.pending.load(Ordering::SeqCst) == 0
    }

    /// Number of messages waiting in the mailbox.
    pub fn mailbox_len(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The mailbox capacity.
    pub fn mailbox_capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Sends a message, waiting for room if the mailbox is full.
    ///
    /// # Errors
    ///
    /// [`SendError::Stopped`] (with the message) if the actor has stopped.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the message was not enqueued.
    pub async fn tell(&self, msg: A::Message) -> Result<(), SendError<A::Message>> {
        let sending = Sending::new(&self.info);
        self.tx
            .send(Envelope::Tell(msg))
            .await
            .map_err(|err| SendError::Stopped {
                actor: self.info.label.clone(),
                message: err.0.into_message(),
            })?;
        sending.sent();
        Ok(())
    }

    /// Sends a message if the mailbox has room, without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError::Overloaded`] if the mailbox is full, [`SendError::Stopped`] if the
    /// actor has stopped; both give the message back.
    pub fn try_tell(&self, msg: A::Message) -> Result<(), SendError<A::Message>> {
        let sending = Sending::new(&self.info);
        self.tx
            .try_send(Envelope::Tell(msg))
            .map(|()| sending.sent())
            .map_err(|err| self.refused(err))
    }

    /// A `try_send` that failed, as the [`SendError`] that gives its message back.
    fn refused(&self, err: mpsc::error::TrySendError<Envelope<A>>) -> SendError<A::Message> {
        match err {
            mpsc::error::TrySendError::Full(envelope) => SendError::Overloaded {
                actor: self.info.label.clone(),
                message: envelope.into_message(),
            },
            mpsc::error::TrySendError::Closed(envelope) => SendError::Stopped {
                actor: self.info.label.clone(),
                message: envelope.into_message(),
            },
        }
    }

    /// Sends a message and waits for the handler's reply (waiting for room first if
    /// the mailbox is full).
    ///
    /// # Errors
    ///
    /// [`AskError::Failed`] with the actor's error if the handler returned `Err`,
    /// [`AskError::Panicked`] if it panicked, [`AskError::Stopped`] if the actor
    /// stopped before answering.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not take the message back once it is enqueued; the
    /// actor still handles it and its reply is discarded.
    pub async fn ask(&self, msg: A::Message) -> Result<A::Reply, AskError<A::Error>> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let sending = Sending::new(&self.info);
        if self.tx.send(Envelope::Ask(msg, reply_tx)).await.is_err() {
            return Err(self.stopped());
        }
        sending.sent();
        self.wait_reply(reply_rx).await
    }

    /// Like [`ask`](Self::ask), but refuses at once, giving the message back, if the
    /// mailbox is full or the actor has stopped.
    ///
    /// The message is enqueued (or refused) when `try_ask` is called; the returned future
    /// only waits for the reply.
    ///
    /// # Errors
    ///
    /// [`SendError::Overloaded`] if the mailbox is full, [`SendError::Stopped`] if the
    /// actor has stopped; both give the message back. The future's errors are
    /// [`ask`](Self::ask)'s.
    #[expect(
        clippy::type_complexity,
        reason = "the future and the refusal, spelled out"
    )]
    pub fn try_ask(
        &self,
        msg: A::Message,
    ) -> Result<
        impl Future<Output = Result<A::Reply, AskError<A::Error>>> + Send + 'static + use<A>,
        SendError<A::Message>,
    > {
        let (reply_tx, reply_rx) = oneshot::channel();
        let sending = Sending::new(&self.info);
        self.tx
            .try_send(Envelope::Ask(msg, reply_tx))
            .map_err(|err| self.refused(err))?;
        sending.sent();
        let info = Arc::clone(&self.info);
        Ok(async move {
            reply_rx.await.unwrap_or_else(|_| {
                Err(AskError::Stopped {
                    actor: info.label.clone(),
                })
            })
        })
    }

    /// Like [`ask`](Self::ask), giving up after `timeout` (waiting for room included).
    ///
    /// # Errors
    ///
    /// As [`ask`](Self::ask), plus [`AskError::Timeout`]. A timed-out message may still
    /// be handled later; its reply is then discarded.
    pub async fn ask_timeout(
        &self,
        msg: A::Message,
        timeout: Duration,
    ) -> Result<A::Reply, AskError<A::Error>> {
        match tokio::time::timeout(timeout, self.ask(msg)).await {
            Ok(result) => result,
            Err(_) => Err(AskError::Timeout {
                actor: self.info.label.clone(),
                after: timeout,
            }),
        }
    }

    async fn wait_reply(
        &self,
        reply_rx: oneshot::Receiver<Result<A::Reply, AskError<A::Error>>>,
    ) -> Result<A::Reply, AskError<A::Error>> {
        // A dropped reply sender means the envelope was dropped unanswered (the task
        // was aborted): that is a stop.
        reply_rx.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    fn stopped(&self) -> AskError<A::Error> {
        AskError::Stopped {
            actor: self.info.label.clone(),
        }
    }
}

/// Counts a message in [`ActorInfo`]'s pending count while it is being sent; dropped
/// without [`sent`](Self::sent) (a failed or cancelled send) it takes the count back.
struct Sending<'a> {
    info: &'a ActorInfo,
}

impl<'a> Sending<'a> {
    fn new(info: &'a ActorInfo) -> Self {
        info.sending();
        Self { info }
    }

    /// The message is in the mailbox: the actor's task finishes it.
    fn sent(self) {
        std::mem::forget(self);
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        self.info.finished();
    }
}
