//! The protocol between a task (actor or supervisor) and whoever started it (internal).
//!
//! Every task starts *parked*: no incarnation runs until its parent sends
//! [`Command::Start`]. The parent drives the rest with one command at a time and waits
//! for each acknowledgement, which is what orders restarts (old incarnation fully
//! stopped before the new one starts, siblings stopped in reverse start order and
//! started in start order):
//!
//! - `Start`: parked → running; acknowledged once `pre_start` is done (or failed).
//! - `Halt { discard: false }`: running → parked; the mailbox is kept.
//! - `Halt { discard: true }`: an actor stops for good; a supervisor stops its
//!   actors for good but stays parked itself (its subtree is rebuilt on `Start`).
//! - `Stop`: stops for good.
//!
//! When an incarnation ends on its own, a supervised task reports a [`ChildExit`] and
//! parks until told what to do.
//!
//! A supervised task does not publish its own `Started`, `Restarted` or `Stopped`
//! events: it hands them to its supervisor in the acknowledgement, and the supervisor
//! publishes them once its `children()` snapshot shows that state. So whoever sees the
//! event sees the snapshot agree with it.

use tokio::sync::{mpsc, oneshot};

use crate::monitor::{LifecycleEvent, StopReason};

/// Control channel capacity: a parent sends one command at a time.
pub(crate) const CONTROL_CAPACITY: usize = 4;

/// Acknowledges a start: the `Started` / `Restarted` event a supervised task leaves to
/// its supervisor (`None` when the task published it itself), or `Err(reason)` if the
/// factory or `pre_start` failed.
pub(crate) type StartAck = oneshot::Sender<Result<Option<LifecycleEvent>, String>>;

/// Acknowledges a halt or stop.
pub(crate) type Ack = oneshot::Sender<Acked>;

/// The answer to a halt or stop.
#[derive(Debug, Default)]
pub(crate) struct Acked {
    /// For a halt: the child's own exit if it had ended on its own and its parent has
    /// not acted on that yet (its report may still be queued, or was never sent): the
    /// parent must honour it (an escalation, a normal stop of a `Transient` child)
    /// rather than treat the halt as a plain restart.
    pub(crate) exited: Option<ExitKind>,
    /// The `Stopped` event of a supervised actor that stopped for good, left to its
    /// supervisor to publish.
    pub(crate) event: Option<LifecycleEvent>,
}

impl Acked {
    /// A halt's answer: the unhandled exit, no event.
    pub(crate) fn exited(exited: Option<ExitKind>) -> Self {
        Self {
            exited,
            event: None,
        }
    }
}

/// Answers a start with `event`: a supervised task (`defer`) hands the event to its
/// supervisor; otherwise (or if the ack cannot be delivered, the parent being gone)
/// `publish` publishes it, before the ack goes out.
pub(crate) fn ack_start(
    ack: Option<StartAck>,
    event: LifecycleEvent,
    defer: bool,
    publish: impl FnOnce(LifecycleEvent),
) {
    match ack {
        Some(ack) if defer => {
            if let Err(Ok(Some(event))) = ack.send(Ok(Some(event))) {
                publish(event);
            }
        }
        ack => {
            publish(event);
            if let Some(ack) = ack {
                let _ = ack.send(Ok(None));
            }
        }
    }
}

/// Answers a final stop with the task's `Stopped` event, handed over or published as
/// in [`ack_start`].
pub(crate) fn ack_stopped(
    ack: Option<Ack>,
    event: LifecycleEvent,
    defer: bool,
    publish: impl FnOnce(LifecycleEvent),
) {
    match ack {
        Some(ack) if defer => {
            let acked = Acked {
                exited: None,
                event: Some(event),
            };
            if let Err(Acked {
                event: Some(event), ..
            }) = ack.send(acked)
            {
                publish(event);
            }
        }
        ack => {
            publish(event);
            if let Some(ack) = ack {
                let _ = ack.send(Acked::default());
            }
        }
    }
}

/// A command from a parent to its child task.
pub(crate) enum Command {
    Start {
        generation: u64,
        /// `None` for a first start, the reason for a restart.
        reason: Option<String>,
        ack: StartAck,
    },
    Halt {
        discard: bool,
        ack: Ack,
    },
    Stop {
        ack: Ack,
    },
}

/// A command that ends the running incarnation.
pub(crate) enum StopCmd {
    /// Park, keeping the mailbox.
    Halt(Ack),
    /// `Halt { discard: true }`.
    Discard(Ack),
    /// Stop for good.
    Final(Ack),
    /// The parent is gone (its control sender was dropped): stop for good.
    Orphaned,
}

/// A received command, sorted.
pub(crate) enum Ctl {
    Start {
        generation: u64,
        reason: Option<String>,
        ack: StartAck,
    },
    Stop(StopCmd),
}

/// Answers the commands still queued (or being sent) when a task ends: a start fails,
/// halts and stops are acknowledged. Run as the task's very last step.
pub(crate) async fn close_and_drain(control: &mut mpsc::Receiver<Command>) {
    control.close();
    while let Some(command) = control.recv().await {
        match command {
            Command::Start { ack, .. } => {
                let _ = ack.send(Err("the actor has stopped".to_owned()));
            }
            Command::Halt { ack, .. } | Command::Stop { ack } => {
                let _ = ack.send(Acked::default());
            }
        }
    }
}

/// Sorts what `control.recv()` returned.
pub(crate) fn classify(command: Option<Command>) -> Ctl {
    match command {
        Some(Command::Start {
            generation,
            reason,
            ack,
        }) => Ctl::Start {
            generation,
            reason,
            ack,
        },
        Some(Command::Halt {
            discard: false,
            ack,
        }) => Ctl::Stop(StopCmd::Halt(ack)),
        Some(Command::Halt { discard: true, ack }) => Ctl::Stop(StopCmd::Discard(ack)),
        Some(Command::Stop { ack }) => Ctl::Stop(StopCmd::Final(ack)),
        None => Ctl::Stop(StopCmd::Orphaned),
    }
}

/// How an incarnation ended on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// `ctx.stop()` or `ErrorAction::Stop`.
    Normal,
    /// An error with `ErrorAction::Restart`, a panic, a failed start or health check.
    Crash(String),
    /// `ErrorAction::Escalate`: the supervisor itself must fail.
    Escalate(String),
}

impl ExitKind {
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Normal => "stopped normally".to_owned(),
            Self::Crash(reason) | Self::Escalate(reason) => reason.clone(),
        }
    }

    pub(crate) fn stop_reason(&self) -> StopReason {
        match self {
            Self::Normal => StopReason::Normal,
            Self::Crash(reason) | Self::Escalate(reason) => StopReason::Failed(reason.clone()),
        }
    }
}

/// A child's report to its supervisor: incarnation `generation` of child `key` ended.
pub(crate) struct ChildExit {
    pub(crate) key: u64,
    pub(crate) generation: u64,
    pub(crate) kind: ExitKind,
}

/// How a supervised task reaches its supervisor.
#[derive(Clone)]
pub(crate) struct ParentLink {
    pub(crate) exits: mpsc::Sender<ChildExit>,
    pub(crate) key: u64,
}

/// The answer to [`ChildHandle::halt`].
pub(crate) enum Halted {
    /// The task has ended.
    Gone,
    /// Parked (or, for a discarded actor, stopped), with its unhandled exit if any
    /// and, for a discarded actor, its `Stopped` event to publish.
    Parked(Acked),
}

/// The parent's end of a child task's control channel.
pub(crate) struct ChildHandle {
    control: mpsc::Sender<Command>,
}

impl ChildHandle {
    pub(crate) fn new(control: mpsc::Sender<Command>) -> Self {
        Self { control }
    }

    /// `true` once the task has ended.
    pub(crate) fn is_gone(&self) -> bool {
        self.control.is_closed()
    }

    /// Starts a new incarnation and waits for `pre_start`. `Ok` carries the event the
    /// task left to its parent to publish, if any.
    pub(crate) async fn start(
        &self,
        generation: u64,
        reason: Option<String>,
    ) -> Result<Option<LifecycleEvent>, String> {
        let (ack, done) = oneshot::channel();
        let command = Command::Start {
            generation,
            reason,
            ack,
        };
        self.request(command, done)
            .await
            .unwrap_or_else(|| Err("the actor's task has ended".to_owned()))
    }

    /// Ends the running incarnation and waits until it is parked (or, with
    /// `discard`, stopped).
    pub(crate) async fn halt(&self, discard: bool) -> Halted {
        let (ack, done) = oneshot::channel();
        self.request(Command::Halt { discard, ack }, done)
            .await
            .map_or(Halted::Gone, Halted::Parked)
    }

    /// Stops the task for good and waits until it has finished (mailbox drained).
    /// Returns the `Stopped` event the task left to its parent to publish, if any.
    pub(crate) async fn stop(&self) -> Option<LifecycleEvent> {
        let (ack, done) = oneshot::channel();
        self.request(Command::Stop { ack }, done)
            .await
            .and_then(|acked| acked.event)
    }

    /// Sends `command` and waits for its acknowledgement; `None` if the task ended
    /// without giving one.
    async fn request<T>(&self, command: Command, done: oneshot::Receiver<T>) -> Option<T> {
        if self.control.send(command).await.is_err() {
            return None;
        }
        // Tasks drain their control channel when they end, so `done` resolves; the
        // `closed` branch is a backstop should a task end without draining (abort).
        tokio::select! {
            biased;
            answer = done => answer.ok(),
            () = self.control.closed() => None,
        }
    }
}
