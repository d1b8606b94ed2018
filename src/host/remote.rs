//! [`Remote`]: where a host sends what it has no live component for.
//!
//! A host on its own answers an unknown name `not-found`. On a lattice (contract section
//! 8), the layer above sets a [`Remote`] with [`Host::set_remote`](crate::Host::set_remote),
//! and a message for a name this host does not run (or whose component has stopped for
//! good) goes there instead, with its caller's deadline. The host cannot name that layer:
//! this trait is how it reaches up.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::engine::executor::Reply;
use crate::error::Error;
use crate::imports::ComponentMessage;

/// A reply coming from elsewhere.
pub type RemoteReply = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send + 'static>>;

/// Where messages for components this host does not run go: the other hosts of a lattice.
pub trait Remote: Send + Sync + 'static {
    /// Asks the component `to` elsewhere. `deadline` is the caller's, when it has one; the
    /// remote side runs the message within it, and past it the reply is `timeout`.
    ///
    /// The errors are the kinds the caller would get locally (`not-found` when no host
    /// runs `to`).
    fn ask(&self, to: &str, message: ComponentMessage, deadline: Option<Instant>) -> RemoteReply;

    /// Sends to the component `to` elsewhere, without waiting for a reply.
    ///
    /// # Errors
    ///
    /// What is known at once: `too-large`, or `stopped` when there is no way to send.
    fn tell(&self, to: &str, message: ComponentMessage) -> Result<(), Error>;
}
