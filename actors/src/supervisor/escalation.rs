//! Escalation: a supervisor past its restart intensity (or told to by a child's
//! `ErrorAction::Escalate`) stops its actors and fails to its parent, or, at the top
//! level, gives up.

use super::runner::{Finish, SupervisorRunner};
use crate::lifecycle::{ChildExit, ExitKind};
use crate::monitor::{LifecycleEvent, StopReason};

impl SupervisorRunner {
    /// This supervisor failed: stop its actors and report to the parent (then wait,
    /// parked), or give up at the top level. `Some` ends the task.
    pub(super) async fn fail(&mut self, reason: String) -> Option<Finish> {
        let Some(link) = self.parent.clone() else {
            self.stop_children().await;
            tracing::error!(supervisor = %self.label(), %reason, "supervisor gave up");
            self.system.emit(LifecycleEvent::SupervisorGaveUp {
                supervisor: self.label().to_owned(),
                reason: reason.clone(),
            });
            return Some((StopReason::Failed(reason), None));
        };
        tracing::error!(supervisor = %self.label(), %reason, "supervisor failed; escalating to its parent");
        self.halt_children(true).await;
        self.parked_reason = Some(StopReason::Failed(reason.clone()));
        self.unhandled_exit = Some(ExitKind::Crash(reason.clone()));
        let exit = ChildExit {
            key: link.key,
            generation: self.generation,
            kind: ExitKind::Crash(reason),
        };
        tokio::select! {
            biased;
            command = self.control.recv() => self.stashed = Some(command),
            sent = link.exits.send(exit) => {
                if sent.is_err() {
                    self.stop_children().await;
                    return Some((self.final_reason(), None));
                }
            }
        }
        None
    }
}
