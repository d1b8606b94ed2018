//! Applying the strategy: what a supervisor does when one of its children's
//! incarnations ends (restart it and the siblings its [`Strategy`](super::Strategy)
//! names, within the restart intensity and after the backoff, or retire it).

use tokio::time::Instant;

use super::children::State;
use super::runner::SupervisorRunner;
use crate::lifecycle::{ChildExit, ExitKind};
use crate::policy::RestartPolicy;

impl SupervisorRunner {
    /// Handles a child's exit; `Some(reason)` if this supervisor must fail.
    pub(super) async fn on_child_exit(&mut self, exit: ChildExit) -> Option<String> {
        let index = self.index_of(exit.key)?;
        let child = &mut self.children[index];
        if child.state != State::Running || child.generation != exit.generation {
            return None; // stale: that incarnation was already dealt with
        }
        child.state = State::Parked;
        let id = child.launcher.id().to_owned();
        let policy = child.launcher.restart_policy();
        match exit.kind {
            ExitKind::Escalate(reason) => Some(format!("child `{id}` escalated: {reason}")),
            kind => {
                let crashed = !matches!(kind, ExitKind::Normal);
                if policy.restarts_after(crashed) {
                    self.restart(exit.key, kind.reason()).await
                } else {
                    tracing::info!(child = %id, reason = %kind.reason(), ?policy, "child not restarted");
                    self.retire(index).await;
                    None
                }
            }
        }
    }

    /// Restarts child `key` and the siblings its strategy names, until every restart
    /// succeeded or the intensity is exceeded (`Some(reason)`).
    async fn restart(&mut self, key: u64, reason: String) -> Option<String> {
        let mut next = Some((key, reason));
        while let Some((key, reason)) = next.take() {
            let index = self.index_of(key)?;
            let failed_id = self.children[index].launcher.id().to_owned();
            if !self.tracker.try_record(Instant::now()) {
                let limit = self.tracker.limit();
                return Some(format!(
                    "restart intensity exceeded ({} restarts within {:?}); last failure: child `{failed_id}`: {reason}",
                    limit.max_restarts, limit.window
                ));
            }
            let strategy = self.config.strategy;
            tracing::warn!(child = %failed_id, %reason, %strategy, "restarting");
            if let Some(backoff) = self.config.backoff {
                let delay = backoff.delay(self.tracker.recent());
                if !delay.is_zero() {
                    tokio::select! {
                        biased;
                        command = self.control.recv() => {
                            // The parent comes first; the restart is abandoned.
                            self.stashed = Some(command);
                            return None;
                        }
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
            let keys: Vec<u64> = self.children[strategy.affected(index, self.children.len())]
                .iter()
                .map(|child| child.key)
                .collect();
            // Stop phase: reverse start order. Temporary siblings are removed.
            for &sibling in keys.iter().rev() {
                if sibling == key {
                    continue;
                }
                let Some(i) = self.index_of(sibling) else {
                    continue;
                };
                let policy = self.children[i].launcher.restart_policy();
                if policy == RestartPolicy::Temporary {
                    self.retire(i).await;
                    continue;
                }
                if self.children[i].state != State::Running {
                    continue;
                }
                // A sibling that ended on its own meanwhile is judged by its own exit.
                match self.halt_child(i, false).await {
                    Some(ExitKind::Escalate(escalation)) => {
                        let id = self.children[i].launcher.id();
                        return Some(format!("child `{id}` escalated: {escalation}"));
                    }
                    Some(ExitKind::Normal) if !policy.restarts_after(false) => {
                        self.retire(i).await;
                    }
                    _ => {}
                }
            }
            // Start phase: start order.
            for &sibling in &keys {
                let Some(i) = self.index_of(sibling) else {
                    continue;
                };
                if self.children[i].state == State::Running {
                    continue;
                }
                let why = if sibling == key {
                    reason.clone()
                } else {
                    format!("{strategy} restart after child `{failed_id}` failed: {reason}")
                };
                if let Err(failure) = self.start_child(i, Some(why)).await {
                    next = Some((sibling, format!("restart failed: {failure}")));
                    break;
                }
            }
        }
        None
    }
}
