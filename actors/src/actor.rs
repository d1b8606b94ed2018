//! The [`Actor`] trait: behaviour and hooks of one actor.

use std::future::Future;

use crate::context::ActorContext;
use crate::message::Message;
use crate::policy::HealthStatus;

/// An actor: private state plus a handler run for one message at a time.
///
/// The runtime owns the actor value and calls its hooks from the actor's own task:
///
/// 1. [`pre_start`](Actor::pre_start) once per incarnation, before any message
///    (async setup belongs here; an `Err` or a panic is a crash of that start);
/// 2. [`before_message`](Actor::before_message), then
///    [`handle_message`](Actor::handle_message), for each message, in mailbox order;
/// 3. [`on_error`](Actor::on_error) when a handler returns `Err`, to choose what
///    happens next ([`ErrorAction`]);
/// 4. [`post_stop`](Actor::post_stop) once when the incarnation ends, whatever the
///    reason (a normal stop, a crash, a restart by the supervisor).
///
/// A panic in any hook is caught and treated as a crash of this actor only.
///
/// # Examples
///
/// ```
/// use airssys_wasm_actors::prelude::*;
///
/// #[derive(Default)]
/// struct Counter {
///     value: u64,
/// }
///
/// enum CounterMsg {
///     Add(u64),
///     Get,
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("counter overflow")]
/// struct Overflow;
///
/// impl Actor for Counter {
///     type Message = CounterMsg;
///     type Reply = u64;
///     type Error = Overflow;
///
///     async fn handle_message(
///         &mut self,
///         msg: CounterMsg,
///         _ctx: &mut ActorContext<Self>,
///     ) -> Result<u64, Overflow> {
///         match msg {
///             CounterMsg::Add(n) => self.value = self.value.checked_add(n).ok_or(Overflow)?,
///             CounterMsg::Get => {}
///         }
///         Ok(self.value)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new(SystemConfig::default());
/// let counter = system.spawn().name("counter").spawn(Counter::default()).await?;
/// counter.tell(CounterMsg::Add(2)).await?;
/// assert_eq!(counter.ask(CounterMsg::Add(3)).await?, 5);
/// system.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The one message type this actor receives (usually an enum).
    type Message: Message;
    /// What an ask returns: one reply type per actor.
    type Reply: Send + 'static;
    /// The actor's own error, returned by [`handle_message`](Actor::handle_message)
    /// and handed to askers as [`AskError::Failed`](crate::AskError::Failed).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Handles one message. For an ask, the `Ok` value is the reply.
    ///
    /// On `Err`, [`on_error`](Actor::on_error) decides what happens next; an asker
    /// always receives the error.
    fn handle_message(
        &mut self,
        msg: Self::Message,
        ctx: &mut ActorContext<Self>,
    ) -> impl Future<Output = Result<Self::Reply, Self::Error>> + Send;

    /// Runs before each message is handed to [`handle_message`](Actor::handle_message),
    /// in the actor's task; stop commands and exit signals are taken while it waits.
    ///
    /// An `Err` (or a panic) ends this incarnation as a crash *without taking the
    /// message*: it stays first in line for the next incarnation (or is answered
    /// `Stopped` if none follows). The same holds for a stop or an
    /// [exit signal](crate::ExitHandle) that arrives while this hook waits. For actors
    /// that share their state with work outside their task and must wait for it, or
    /// learn that it failed, before taking the next message. The default does nothing.
    fn before_message(
        &mut self,
        ctx: &mut ActorContext<Self>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs before the first message of each incarnation. An `Err` (or a panic)
    /// means this start failed, which is a crash.
    fn pre_start(
        &mut self,
        ctx: &mut ActorContext<Self>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs when the incarnation ends (normal stop, crash, restart, shutdown),
    /// before any new incarnation starts. Not run if `pre_start` failed, nor under
    /// [`ShutdownPolicy::Immediate`](crate::ShutdownPolicy::Immediate) when stopped
    /// by a supervisor.
    fn post_stop(&mut self, ctx: &mut ActorContext<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Chooses what to do after `handle_message` returned `error`.
    ///
    /// The default is [`ErrorAction::Restart`]: the error is a crash.
    fn on_error(&mut self, error: &Self::Error, ctx: &mut ActorContext<Self>) -> ErrorAction {
        let _ = (error, ctx);
        ErrorAction::Restart
    }

    /// Reports the actor's health; called only when a
    /// [`HealthConfig`](crate::HealthConfig) is set for it. Runs in the actor's task,
    /// between messages.
    fn health_check(
        &mut self,
        ctx: &mut ActorContext<Self>,
    ) -> impl Future<Output = HealthStatus> + Send {
        let _ = ctx;
        async { HealthStatus::Healthy }
    }
}

/// What an actor wants after its handler returned an error.
///
/// | action | state | the failing ask gets | then |
/// |---|---|---|---|
/// | `Resume` | kept | the error | next message |
/// | `Restart` | dropped | the error | a crash: the supervisor's policy decides |
/// | `Stop` | dropped | the error | a normal stop (a `Transient` child is not restarted) |
/// | `Escalate` | dropped | the error | the supervisor itself fails to its parent |
///
/// A panic is always handled as `Restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorAction {
    /// Keep the same state and go on with the next message.
    Resume,
    /// Crash: the supervisor (or the top-level restart policy) decides.
    #[default]
    Restart,
    /// Stop normally.
    Stop,
    /// Make the supervisor fail to its parent.
    Escalate,
}
