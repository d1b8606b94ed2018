//! The task that runs one actor (internal).
//!
//! One tokio task per actor. It owns the mailbox's receiving end for the actor's whole
//! life and builds a fresh actor value for each incarnation, so a restart keeps every
//! queued message, in order. Per incarnation:
//!
//! ```text
//! factory() -> pre_start -> loop { select! { biased; control; exit signal; health tick; mailbox }
//!                                  -> before_message -> handle_message } -> post_stop
//! ```
//!
//! A control command that arrives while a message is being handled is noticed at once:
//! the handler may finish within the [`ShutdownPolicy`], then it is cancelled (its asker
//! gets `Stopped`). Every hook runs inside [`CatchUnwind`]: a panic is a crash of this
//! actor only. On the final stop the mailbox is closed and drained (asks get
//! `Stopped`), the name is unregistered, and `Stopped` is published.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use crate::actor::{Actor, ErrorAction};
use crate::address::{ActorInfo, ActorRef};
use crate::catch_unwind::{CatchUnwind, catch};
use crate::context::ActorContext;
use crate::error::{ActorError, AskError};
use crate::exit::{ExitReceiver, ExitSignal};
use crate::id::ActorId;
use crate::lifecycle::{
    self, Ack, Acked, CONTROL_CAPACITY, ChildExit, ChildHandle, Command, Ctl, ExitKind, ParentLink,
    StartAck, StopCmd, classify,
};
use crate::mailbox::{self, Envelope, MailboxReceiver};
use crate::monitor::{LifecycleEvent, StopReason};
use crate::policy::health::HealthProbe;
use crate::policy::intensity::RestartTracker;
use crate::policy::{Backoff, HealthConfig, RestartIntensity, RestartPolicy, ShutdownPolicy};
use crate::system::ActorSystem;

/// Where each incarnation's actor value comes from.
pub(crate) enum Source<A> {
    /// Called for every (re)start.
    Factory(Arc<dyn Fn() -> A + Send + Sync>),
    /// A single value: the actor cannot be rebuilt, so it is never restarted.
    Once(Option<A>),
}

impl<A> Source<A> {
    fn build(&mut self) -> Result<A, String> {
        match self {
            Self::Factory(factory) => {
                catch(|| factory()).map_err(|panic| format!("factory panicked: {panic}"))
            }
            Self::Once(actor) => actor
                .take()
                .ok_or_else(|| "the actor was given as a value and cannot be rebuilt".to_owned()),
        }
    }

    fn can_rebuild(&self) -> bool {
        match self {
            Self::Factory(_) => true,
            Self::Once(actor) => actor.is_some(),
        }
    }
}

/// Who decides what happens when an incarnation ends on its own.
pub(crate) enum Parent {
    /// A supervisor: report the exit and wait for its command.
    Supervisor(ParentLink),
    /// Nobody: a top-level actor applies its own spawn-time restart policy.
    TopLevel(LocalRestart),
}

impl Parent {
    /// A supervised actor leaves its lifecycle events to its supervisor (see
    /// [`lifecycle`]).
    fn is_supervisor(&self) -> bool {
        matches!(self, Self::Supervisor(_))
    }
}

/// The restart policy of a top-level actor.
pub(crate) struct LocalRestart {
    policy: RestartPolicy,
    tracker: RestartTracker,
    backoff: Option<Backoff>,
}

enum Decision {
    Restart(Duration),
    Stop(StopReason),
}

impl LocalRestart {
    pub(crate) fn new(
        policy: RestartPolicy,
        intensity: RestartIntensity,
        backoff: Option<Backoff>,
    ) -> Self {
        Self {
            policy,
            tracker: RestartTracker::new(intensity),
            backoff,
        }
    }

    fn decide(&mut self, kind: &ExitKind, can_rebuild: bool) -> Decision {
        let crashed = !matches!(kind, ExitKind::Normal);
        if !can_rebuild || !self.policy.restarts_after(crashed) {
            return Decision::Stop(kind.stop_reason());
        }
        if !self.tracker.try_record(Instant::now()) {
            let limit = self.tracker.limit();
            let reason = format!(
                "restart intensity exceeded ({} restarts within {:?}); last failure: {}",
                limit.max_restarts,
                limit.window,
                kind.reason()
            );
            tracing::error!(%reason, "actor gave up restarting");
            return Decision::Stop(StopReason::Failed(reason));
        }
        let delay = self.backoff.map_or(Duration::ZERO, |backoff| {
            backoff.delay(self.tracker.recent())
        });
        Decision::Restart(delay)
    }
}

/// Everything needed to create an actor task.
pub(crate) struct ActorSetup<A: Actor> {
    pub(crate) name: Option<String>,
    pub(crate) mailbox_capacity: Option<usize>,
    pub(crate) source: Source<A>,
    pub(crate) shutdown: ShutdownPolicy,
    pub(crate) start_timeout: Option<Duration>,
    pub(crate) health: Option<HealthConfig>,
    pub(crate) parent: Parent,
}

/// Creates the mailbox, registers the name and spawns the task, parked: nothing runs
/// until [`ChildHandle::start`].
pub(crate) fn spawn_actor<A: Actor>(
    system: &ActorSystem,
    setup: ActorSetup<A>,
) -> Result<(ActorRef<A>, ChildHandle), ActorError> {
    if let Some(health) = &setup.health {
        health.validate()?;
    }
    let capacity = setup
        .mailbox_capacity
        .unwrap_or(system.config().default_mailbox_capacity);
    let (tx, rx) = mailbox::channel::<A>(capacity)?;
    let id = ActorId::next();
    let info = Arc::new(ActorInfo::new(id, setup.name));
    let address = ActorRef::new(tx, Arc::clone(&info));
    if let Some(name) = &info.name {
        system
            .registry()
            .register(name, id, Arc::new(address.clone()))?;
    }
    let (control_tx, control_rx) = mpsc::channel(CONTROL_CAPACITY);
    let exits = ExitReceiver::default();
    let runner = ActorRunner {
        source: setup.source,
        mailbox: rx,
        stash: None,
        control: control_rx,
        ctx: ActorContext::new(address.clone(), system.clone(), exits.exits()),
        exits,
        shutdown: setup.shutdown,
        start_timeout: setup.start_timeout,
        health: setup.health,
        parent: setup.parent,
        generation: 0,
        parked_reason: None,
        unhandled_exit: None,
    };
    let span = tracing::info_span!("actor", actor = %info.label, id = %id);
    let task = tokio::spawn(runner.run().instrument(span));
    system.track_task(id, &info.label, task.abort_handle());
    Ok((address, ChildHandle::new(control_tx)))
}

/// How one incarnation ended.
enum End {
    /// The factory or `pre_start` failed (its ack, if any, was answered).
    StartFailed(String),
    /// It ended on its own.
    Exited(ExitKind),
    /// It was stopped by a command; the exit the message in flight would have caused
    /// comes along.
    Stopped(StopCmd, Option<ExitKind>),
}

/// Why the message loop returned.
enum LoopEnd {
    Exit(ExitKind),
    Stop {
        cmd: StopCmd,
        deadline: Option<Instant>,
        post_stop: bool,
        /// What the message in flight asked for (a crash, stop or escalation).
        exited: Option<ExitKind>,
    },
}

struct ActorRunner<A: Actor> {
    source: Source<A>,
    mailbox: MailboxReceiver<A>,
    /// A message taken from the mailbox but refused by `before_message` (or caught by a
    /// stop or exit signal while it waited): first in line for the next incarnation.
    stash: Option<Envelope<A>>,
    control: mpsc::Receiver<Command>,
    exits: ExitReceiver,
    ctx: ActorContext<A>,
    shutdown: ShutdownPolicy,
    start_timeout: Option<Duration>,
    health: Option<HealthConfig>,
    parent: Parent,
    generation: u64,
    /// Why the last incarnation ended, while parked after ending on its own.
    parked_reason: Option<StopReason>,
    /// How the last incarnation ended on its own, until the parent acts on it.
    unhandled_exit: Option<ExitKind>,
}

impl<A: Actor> ActorRunner<A> {
    async fn run(mut self) {
        let (reason, ack) = self.lifecycle().await;
        let label = self.ctx.address().label().to_owned();
        let info = self.ctx.address().info();
        let mut drained = 0;
        if let Some(envelope) = self.stash.take() {
            envelope.refuse(info);
            drained += 1;
        }
        drained += mailbox::close_and_drain(&mut self.mailbox, info).await;
        let system = self.ctx.system().clone();
        let id = self.ctx.id();
        if let Some(name) = self.ctx.name() {
            system.registry().unregister(name, id);
        }
        system.forget_task(id);
        tracing::debug!(%reason, drained, "actor stopped");
        let event = LifecycleEvent::Stopped {
            actor: label,
            reason,
        };
        lifecycle::ack_stopped(ack, event, self.parent.is_supervisor(), |event| {
            system.emit(event);
        });
        lifecycle::close_and_drain(&mut self.control).await;
    }

    fn final_reason(&self) -> StopReason {
        self.parked_reason.clone().unwrap_or(StopReason::Shutdown)
    }

    /// Runs incarnations as commanded until the actor stops for good. Returns why,
    /// and whom to acknowledge once the mailbox is drained.
    async fn lifecycle(&mut self) -> (StopReason, Option<Ack>) {
        let mut stashed: Option<Option<Command>> = None;
        loop {
            // Parked: wait for the parent.
            let command = match stashed.take() {
                Some(command) => command,
                None => self.control.recv().await,
            };
            let (generation, reason, ack) = match classify(command) {
                Ctl::Start {
                    generation,
                    reason,
                    ack,
                } => (generation, reason, ack),
                Ctl::Stop(StopCmd::Halt(ack)) => {
                    let _ = ack.send(Acked::exited(self.unhandled_exit.take()));
                    continue;
                }
                Ctl::Stop(StopCmd::Discard(ack) | StopCmd::Final(ack)) => {
                    return (self.final_reason(), Some(ack));
                }
                Ctl::Stop(StopCmd::Orphaned) => return (self.final_reason(), None),
            };
            self.generation = generation;
            self.parked_reason = None;
            self.unhandled_exit = None;

            // Running: incarnation after incarnation until parked or stopped.
            let mut next_start = Some((reason, Some(ack)));
            while let Some((reason, ack)) = next_start.take() {
                let commanded = ack.is_some();
                let kind = match self.incarnation(reason, ack).await {
                    End::Stopped(StopCmd::Halt(ack), exited) => {
                        let _ = ack.send(Acked::exited(exited));
                        break;
                    }
                    End::Stopped(StopCmd::Discard(ack) | StopCmd::Final(ack), _) => {
                        return (StopReason::Shutdown, Some(ack));
                    }
                    End::Stopped(StopCmd::Orphaned, _) => return (StopReason::Shutdown, None),
                    End::StartFailed(reason) if commanded => {
                        // The parent got the failure in its ack and decides.
                        self.parked_reason = Some(StopReason::Failed(reason));
                        break;
                    }
                    End::StartFailed(reason) => ExitKind::Crash(reason),
                    End::Exited(kind) => kind,
                };
                self.parked_reason = Some(kind.stop_reason());
                match &mut self.parent {
                    Parent::Supervisor(link) => {
                        self.unhandled_exit = Some(kind.clone());
                        let exit = ChildExit {
                            key: link.key,
                            generation: self.generation,
                            kind,
                        };
                        tokio::select! {
                            biased;
                            // A command already on its way supersedes the report.
                            command = self.control.recv() => stashed = Some(command),
                            sent = link.exits.send(exit) => {
                                if sent.is_err() {
                                    return (self.final_reason(), None);
                                }
                            }
                        }
                    }
                    Parent::TopLevel(local) => {
                        match local.decide(&kind, self.source.can_rebuild()) {
                            Decision::Stop(reason) => return (reason, None),
                            Decision::Restart(delay) => {
                                tracing::warn!(reason = %kind.reason(), ?delay, "restarting actor");
                                if !delay.is_zero() {
                                    tokio::select! {
                                        biased;
                                        command = self.control.recv() => {
                                            stashed = Some(command);
                                            break;
                                        }
                                        () = tokio::time::sleep(delay) => {}
                                    }
                                }
                                next_start = Some((Some(kind.reason()), None));
                            }
                        }
                    }
                }
            }
        }
    }

    /// One incarnation: build, `pre_start`, messages, `post_stop`. The actor value is
    /// dropped before this returns, so the next incarnation never overlaps it.
    async fn incarnation(&mut self, reason: Option<String>, ack: Option<StartAck>) -> End {
        let mut actor = match self.start(reason.is_some()).await {
            Ok(actor) => actor,
            Err(failure) => {
                tracing::warn!(%failure, "actor failed to start");
                if let Some(ack) = ack {
                    let _ = ack.send(Err(failure.clone()));
                }
                return End::StartFailed(failure);
            }
        };
        let actor_label = self.ctx.address().label().to_owned();
        let event = match reason {
            None => LifecycleEvent::Started { actor: actor_label },
            Some(reason) => LifecycleEvent::Restarted {
                actor: actor_label,
                reason,
            },
        };
        let system = self.ctx.system();
        lifecycle::ack_start(ack, event, self.parent.is_supervisor(), |event| {
            system.emit(event);
        });

        match self.run_loop(&mut actor).await {
            LoopEnd::Exit(kind) => {
                let deadline = match self.shutdown {
                    ShutdownPolicy::Graceful(limit) => Some(Instant::now() + limit),
                    ShutdownPolicy::Immediate | ShutdownPolicy::Infinity => None,
                };
                let panic = self.post_stop(&mut actor, deadline).await;
                match (kind, panic) {
                    (ExitKind::Normal, Some(panic)) => {
                        End::Exited(ExitKind::Crash(format!("post_stop panicked: {panic}")))
                    }
                    (kind, _) => End::Exited(kind),
                }
            }
            LoopEnd::Stop {
                cmd,
                deadline,
                post_stop,
                exited,
            } => {
                if post_stop {
                    self.post_stop(&mut actor, deadline).await;
                }
                End::Stopped(cmd, exited)
            }
        }
    }

    /// Builds the actor and runs `pre_start`.
    async fn start(&mut self, restarting: bool) -> Result<A, String> {
        let mut actor = self.source.build()?;
        self.ctx.incarnation += 1;
        if restarting {
            self.ctx.restart_count += 1;
        }
        self.ctx.stop_requested = false;
        let outcome = {
            // Boxed, as are `post_stop` and `health_check`: they run once per incarnation
            // (or per probe), and inline they would size every actor's task for the largest.
            let hook = Box::pin(actor.pre_start(&mut self.ctx));
            let hook = CatchUnwind::new(hook);
            match self.start_timeout {
                Some(limit) => tokio::time::timeout(limit, hook).await.ok(),
                None => Some(hook.await),
            }
        };
        match outcome {
            Some(Ok(Ok(()))) => Ok(actor),
            Some(Ok(Err(error))) => Err(format!("pre_start failed: {error}")),
            Some(Err(panic)) => Err(format!("pre_start panicked: {panic}")),
            None => Err(format!(
                "pre_start timed out after {:?}",
                self.start_timeout.unwrap_or_default()
            )),
        }
    }

    async fn post_stop(&mut self, actor: &mut A, deadline: Option<Instant>) -> Option<String> {
        let hook = Box::pin(actor.post_stop(&mut self.ctx));
        let hook = CatchUnwind::new(hook);
        let result = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, hook).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!("post_stop passed the shutdown deadline and was cancelled");
                    Ok(())
                }
            },
            None => hook.await,
        };
        match result {
            Ok(()) => None,
            Err(panic) => {
                tracing::error!(%panic, "post_stop panicked");
                Some(panic)
            }
        }
    }

    /// Control first, then health checks, then the mailbox.
    async fn run_loop(&mut self, actor: &mut A) -> LoopEnd {
        let mut probe = self.health.map(HealthProbe::new);
        loop {
            if self.ctx.stop_requested {
                return LoopEnd::Exit(ExitKind::Normal);
            }
            if let Some(envelope) = self.stash.take() {
                if let Some(end) = self.handle(actor, envelope).await {
                    return end;
                }
                continue;
            }
            tokio::select! {
                biased;
                command = self.control.recv() => {
                    if let Some(end) = control_end(command, self.shutdown) {
                        return end;
                    }
                }
                signal = self.exits.recv() => {
                    if let Some(end) = exit_end(signal, self.ctx.incarnation) {
                        return end;
                    }
                }
                () = HealthProbe::tick(&mut probe) => {
                    if let Some(reason) = self.check_health(actor, &mut probe).await {
                        tracing::warn!(%reason, "actor is unhealthy");
                        return LoopEnd::Exit(ExitKind::Crash(reason));
                    }
                }
                envelope = self.mailbox.recv() => match envelope {
                    Some(envelope) => {
                        if let Some(end) = self.handle(actor, envelope).await {
                            return end;
                        }
                    }
                    // Unreachable while the context holds a sender; stop normally.
                    None => return LoopEnd::Exit(ExitKind::Normal),
                },
            }
        }
    }

    /// Runs `before_message`, taking stop commands and exit signals while it waits.
    /// `Some` ends the incarnation without handling the message.
    async fn admit(&mut self, actor: &mut A) -> Option<LoopEnd> {
        let incarnation = self.ctx.incarnation;
        let hook = pin!(actor.before_message(&mut self.ctx));
        let mut hook = CatchUnwind::new(hook);
        loop {
            tokio::select! {
                biased;
                out = &mut hook => {
                    return match out {
                        Ok(Ok(())) => None,
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "before_message refused the next message");
                            Some(LoopEnd::Exit(ExitKind::Crash(error.to_string())))
                        }
                        Err(panic) => Some(LoopEnd::Exit(ExitKind::Crash(format!(
                            "before_message panicked: {panic}"
                        )))),
                    };
                }
                command = self.control.recv() => {
                    if let Some(end) = control_end(command, self.shutdown) {
                        return Some(end);
                    }
                }
                signal = self.exits.recv() => {
                    if let Some(end) = exit_end(signal, incarnation) {
                        return Some(end);
                    }
                }
            }
        }
    }

    async fn check_health(
        &mut self,
        actor: &mut A,
        probe: &mut Option<HealthProbe>,
    ) -> Option<String> {
        let probe = probe.as_mut()?;
        let outcome = {
            let check = Box::pin(actor.health_check(&mut self.ctx));
            tokio::time::timeout(probe.timeout(), CatchUnwind::new(check)).await
        };
        match outcome {
            Ok(Ok(status)) => probe.record(Some(status)),
            Ok(Err(panic)) => Some(format!("health_check panicked: {panic}")),
            Err(_) => probe.record(None),
        }
    }

    /// Handles one envelope; `Some` ends the incarnation.
    async fn handle(&mut self, actor: &mut A, envelope: Envelope<A>) -> Option<LoopEnd> {
        if let Some(end) = self.admit(actor).await {
            self.stash = Some(envelope);
            return Some(end);
        }
        let (msg, reply) = envelope.split();
        let span = tracing::debug_span!(
            "message",
            kind = if reply.is_some() { "ask" } else { "tell" }
        );
        let mut pending: Option<StopCmd> = None;
        let mut deadline: Option<Instant> = None;
        let outcome = {
            let handler = pin!(actor.handle_message(msg, &mut self.ctx).instrument(span));
            let mut handler = CatchUnwind::new(handler);
            loop {
                tokio::select! {
                    biased;
                    out = &mut handler => break Some(out),
                    command = self.control.recv(), if pending.is_none() => match classify(command) {
                        Ctl::Start { ack, .. } => {
                            let _ = ack.send(Err("already running".to_owned()));
                        }
                        Ctl::Stop(cmd) => {
                            pending = Some(cmd);
                            deadline = self.shutdown.deadline_from_now();
                            if self.shutdown == ShutdownPolicy::Immediate {
                                break None;
                            }
                        }
                    },
                    () = sleep_until(deadline) => break None,
                }
            }
        };
        // Finished before the reply goes out: a caller that gets it and checks
        // `is_idle` sees this message done.
        self.ctx.address().info().finished();

        let Some(outcome) = outcome else {
            // Cancelled by a stop past its deadline.
            if let Some(reply) = reply {
                let _ = reply.send(Err(AskError::Stopped {
                    actor: self.ctx.address().label().to_owned(),
                }));
            }
            return Some(LoopEnd::Stop {
                cmd: pending.unwrap_or(StopCmd::Orphaned),
                deadline: None,
                post_stop: false,
                exited: None,
            });
        };

        let mut exit = match outcome {
            Ok(Ok(value)) => {
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(value));
                }
                None
            }
            Ok(Err(error)) => {
                let reason = error.to_string();
                let action = catch(|| actor.on_error(&error, &mut self.ctx));
                match reply {
                    Some(reply) => {
                        let _ = reply.send(Err(AskError::Failed {
                            actor: self.ctx.address().label().to_owned(),
                            error,
                        }));
                    }
                    None => tracing::warn!(error = %reason, "handler failed on a tell"),
                }
                match action {
                    Ok(ErrorAction::Resume) => None,
                    Ok(ErrorAction::Restart) => Some(ExitKind::Crash(reason)),
                    Ok(ErrorAction::Stop) => Some(ExitKind::Normal),
                    Ok(ErrorAction::Escalate) => Some(ExitKind::Escalate(reason)),
                    Err(panic) => Some(ExitKind::Crash(format!("on_error panicked: {panic}"))),
                }
            }
            Err(panic) => {
                tracing::error!(%panic, "handler panicked");
                if let Some(reply) = reply {
                    let _ = reply.send(Err(AskError::Panicked {
                        actor: self.ctx.address().label().to_owned(),
                        message: panic.clone(),
                    }));
                }
                Some(ExitKind::Crash(format!("panicked: {panic}")))
            }
        };
        if self.ctx.stop_requested && exit.is_none() {
            exit = Some(ExitKind::Normal);
        }
        if let Some(cmd) = pending {
            return Some(LoopEnd::Stop {
                cmd,
                deadline,
                post_stop: true,
                exited: exit,
            });
        }
        exit.map(LoopEnd::Exit)
    }
}

/// A command received while no message is being handled: `Some` for a stop.
fn control_end(command: Option<Command>, shutdown: ShutdownPolicy) -> Option<LoopEnd> {
    match classify(command) {
        Ctl::Start { ack, .. } => {
            let _ = ack.send(Err("already running".to_owned()));
            None
        }
        Ctl::Stop(cmd) => Some(LoopEnd::Stop {
            cmd,
            deadline: shutdown.deadline_from_now(),
            post_stop: shutdown != ShutdownPolicy::Immediate,
            exited: None,
        }),
    }
}

/// An exit signal: a crash if it is aimed at the running `incarnation`.
fn exit_end(signal: ExitSignal, incarnation: u64) -> Option<LoopEnd> {
    if signal.incarnation != incarnation {
        tracing::trace!(reason = %signal.reason, "exit signal for an earlier incarnation ignored");
        return None;
    }
    tracing::warn!(reason = %signal.reason, "actor exited by signal");
    Some(LoopEnd::Exit(ExitKind::Crash(signal.reason)))
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
