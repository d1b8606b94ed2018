//! Native actors for the native rows: the same tiny adder on our runtime and on kameo.
//!
//! Both keep a running sum; `ask` replies with it, `tell` just adds. Both have bounded
//! mailboxes of [`MAILBOX`] messages and run on the caller's tokio runtime.

use std::convert::Infallible;

use airssys_wasm_actors::{Actor, ActorContext, ActorRef, ActorSystem};
use kameo::actor::Spawn;

use crate::Result;

/// Mailbox capacity on both sides (our runtime's default).
pub const MAILBOX: usize = airssys_wasm_actors::DEFAULT_MAILBOX_CAPACITY;

/// The adder on our runtime.
#[derive(Debug, Default)]
pub struct OursAdder {
    sum: u64,
}

impl Actor for OursAdder {
    type Message = u64;
    type Reply = u64;
    type Error = Infallible;

    async fn handle_message(
        &mut self,
        n: u64,
        _ctx: &mut ActorContext<Self>,
    ) -> Result<u64, Infallible> {
        self.sum = self.sum.wrapping_add(n);
        Ok(self.sum)
    }
}

/// The adder on kameo.
#[derive(Debug, Default)]
pub struct KameoAdder {
    sum: u64,
}

impl kameo::Actor for KameoAdder {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(
        args: Self,
        _actor_ref: kameo::actor::ActorRef<Self>,
    ) -> Result<Self, Infallible> {
        Ok(args)
    }
}

impl kameo::message::Message<u64> for KameoAdder {
    type Reply = u64;

    async fn handle(
        &mut self,
        n: u64,
        _ctx: &mut kameo::message::Context<Self, Self::Reply>,
    ) -> u64 {
        self.sum = self.sum.wrapping_add(n);
        self.sum
    }
}

/// Spawns `count` adders on our runtime (anonymous, top level).
///
/// # Errors
///
/// When the system refuses a spawn.
pub async fn spawn_ours(system: &ActorSystem, count: usize) -> Result<Vec<ActorRef<OursAdder>>> {
    let mut refs = Vec::with_capacity(count);
    for _ in 0..count {
        refs.push(
            system
                .spawn()
                .mailbox_capacity(MAILBOX)
                .spawn(OursAdder::default())
                .await?,
        );
    }
    Ok(refs)
}

/// Spawns `count` adders on kameo, started when this returns.
pub async fn spawn_kameo(count: usize) -> Vec<kameo::actor::ActorRef<KameoAdder>> {
    let mut refs = Vec::with_capacity(count);
    for _ in 0..count {
        let actor =
            KameoAdder::spawn_with_mailbox(KameoAdder::default(), kameo::mailbox::bounded(MAILBOX));
        actor.wait_for_startup().await;
        refs.push(actor);
    }
    refs
}

/// `n` asks, one after another, to one of our actors.
///
/// # Errors
///
/// When the actor is gone.
pub async fn ask_ours(actor: &ActorRef<OursAdder>, n: u64) -> Result<u64> {
    let mut last = 0;
    for i in 0..n {
        last = actor.ask(i).await?;
    }
    Ok(last)
}

/// `n` asks, one after another, to a kameo actor.
///
/// # Errors
///
/// When the actor is gone.
pub async fn ask_kameo(actor: &kameo::actor::ActorRef<KameoAdder>, n: u64) -> Result<u64> {
    let mut last = 0;
    for i in 0..n {
        last = actor
            .ask(i)
            .await
            .map_err(|e| format!("kameo ask failed: {e}"))?;
    }
    Ok(last)
}

/// `n` tells to one of our actors, then one ask so that all were handled when it returns.
///
/// # Errors
///
/// When the actor is gone.
pub async fn tell_ours(actor: &ActorRef<OursAdder>, n: u64) -> Result<u64> {
    for i in 0..n {
        actor.tell(i).await.map_err(|_| "our actor stopped")?;
    }
    Ok(actor.ask(0).await?)
}

/// `n` tells to a kameo actor, then one ask so that all were handled when it returns.
///
/// # Errors
///
/// When the actor is gone.
pub async fn tell_kameo(actor: &kameo::actor::ActorRef<KameoAdder>, n: u64) -> Result<u64> {
    for i in 0..n {
        actor
            .tell(i)
            .await
            .map_err(|e| format!("kameo tell failed: {e}"))?;
    }
    actor
        .ask(0)
        .await
        .map_err(|e| format!("kameo ask failed: {e}").into())
}
