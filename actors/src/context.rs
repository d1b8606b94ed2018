//! [`ActorContext`]: what an actor knows about itself while it runs.

use std::sync::Arc;

use crate::actor::Actor;
use crate::address::ActorRef;
use crate::exit::{ExitHandle, Exits};
use crate::id::ActorId;
use crate::system::ActorSystem;

/// Handed to every hook of an actor: its own address, its system, and controls.
///
/// The context lives as long as the actor's mailbox: it survives restarts, so
/// [`restart_count`](Self::restart_count) counts them.
pub struct ActorContext<A: Actor> {
    address: ActorRef<A>,
    system: ActorSystem,
    pub(crate) restart_count: u32,
    pub(crate) stop_requested: bool,
    /// Counts incarnations (1 for the first); exit handles are bound to one.
    pub(crate) incarnation: u64,
    exits: Arc<Exits>,
}

impl<A: Actor> ActorContext<A> {
    pub(crate) fn new(address: ActorRef<A>, system: ActorSystem, exits: Arc<Exits>) -> Self {
        Self {
            address,
            system,
            restart_count: 0,
            stop_requested: false,
            incarnation: 0,
            exits,
        }
    }

    /// The actor's own address (for example to hand to others or to tell itself).
    pub fn address(&self) -> &ActorRef<A> {
        &self.address
    }

    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.address.id()
    }

    /// The actor's registered name, if any.
    pub fn name(&self) -> Option<&str> {
        self.address.name()
    }

    /// The system this actor runs in.
    pub fn system(&self) -> &ActorSystem {
        &self.system
    }

    /// Requests a normal stop once the current hook returns. A `Transient` or
    /// `Temporary` child is then not restarted; a `Permanent` one is.
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    /// `true` once [`stop`](Self::stop) has been called in this incarnation.
    pub fn is_stopping(&self) -> bool {
        self.stop_requested
    }

    /// How many times this actor has been restarted (0 for the first incarnation).
    pub fn restart_count(&self) -> u32 {
        self.restart_count
    }

    /// A handle that crashes this incarnation from outside the actor's task (for work
    /// the actor hands to other tasks). Signals sent after the incarnation has ended are
    /// ignored. See [`ExitHandle`].
    pub fn exit_handle(&self) -> ExitHandle {
        ExitHandle::new(Arc::clone(&self.exits), self.incarnation)
    }
}
