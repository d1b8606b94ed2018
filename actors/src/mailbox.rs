//! Bounded mailboxes (internal): what is queued and how a final stop empties it.
//!
//! A mailbox is a tokio bounded `mpsc` channel of [`Envelope`]s; nothing in this crate
//! queues without a bound. The actor's task owns the receiving end for the actor's
//! whole life, across restarts, so a restart loses no message. On the final stop the
//! mailbox is closed and drained: every queued ask is answered `Stopped`.

use tokio::sync::{mpsc, oneshot};

use crate::actor::Actor;
use crate::address::ActorInfo;
use crate::error::{ActorError, AskError};

/// Where the answer to an ask goes: exactly one value or one typed error.
pub(crate) type ReplyTo<A> =
    oneshot::Sender<Result<<A as Actor>::Reply, AskError<<A as Actor>::Error>>>;

/// One entry in a mailbox.
pub(crate) enum Envelope<A: Actor> {
    /// Fire and forget.
    Tell(A::Message),
    /// Request/response: the reply goes back through the oneshot.
    Ask(A::Message, ReplyTo<A>),
}

impl<A: Actor> Envelope<A> {
    /// The message, whichever way it was sent.
    pub(crate) fn into_message(self) -> A::Message {
        match self {
            Self::Tell(message) | Self::Ask(message, _) => message,
        }
    }

    /// Splits the envelope into the message and, for an ask, where to reply.
    pub(crate) fn split(self) -> (A::Message, Option<ReplyTo<A>>) {
        match self {
            Self::Tell(message) => (message, None),
            Self::Ask(message, reply) => (message, Some(reply)),
        }
    }
}

/// The sending end of a mailbox (inside every `ActorRef`).
pub(crate) type MailboxSender<A> = mpsc::Sender<Envelope<A>>;
/// The receiving end of a mailbox (owned by the actor's task).
pub(crate) type MailboxReceiver<A> = mpsc::Receiver<Envelope<A>>;

/// Creates a mailbox of `capacity` envelopes.
///
/// # Errors
///
/// [`ActorError::InvalidConfig`] for a zero capacity.
pub(crate) fn channel<A: Actor>(
    capacity: usize,
) -> Result<(MailboxSender<A>, MailboxReceiver<A>), ActorError> {
    if capacity == 0 {
        return Err(ActorError::InvalidConfig {
            reason: "mailbox capacity must be at least 1".to_owned(),
        });
    }
    Ok(mpsc::channel(capacity))
}

impl<A: Actor> Envelope<A> {
    /// Answers an ask with [`AskError::Stopped`] (a tell is dropped) and counts the
    /// envelope as finished.
    pub(crate) fn refuse(self, info: &ActorInfo) {
        info.finished();
        if let Envelope::Ask(_, reply) = self {
            let _ = reply.send(Err(AskError::Stopped {
                actor: info.label.clone(),
            }));
        }
    }
}

/// Closes the mailbox (new sends fail with *stopped*) and answers every queued ask
/// with [`AskError::Stopped`]. Queued tells are dropped. Returns how many envelopes
/// were drained.
pub(crate) async fn close_and_drain<A: Actor>(
    rx: &mut MailboxReceiver<A>,
    info: &ActorInfo,
) -> usize {
    rx.close();
    let mut drained = 0;
    // After `close`, `recv` yields what is queued (and what holders of a permit still
    // send), then `None`.
    while let Some(envelope) = rx.recv().await {
        drained += 1;
        envelope.refuse(info);
    }
    drained
}
