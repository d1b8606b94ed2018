//! How many log lines a component may emit per message.
//!
//! `logging::log` calls and lines written to stdout/stderr share one budget of
//! [`MAX_LOG_LINES_PER_MESSAGE`], refilled before every message. Lines past it are dropped
//! and counted in `metrics().logs_dropped`; the first one dropped in a message is reported
//! by one warning. A guest logging in a tight loop therefore costs the host a bounded
//! amount of logging per message, whatever its fuel and time limits allow.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::store::metrics::Metrics;

/// Log lines (from `logging::log`, stdout and stderr together) one message may emit.
pub const MAX_LOG_LINES_PER_MESSAGE: u32 = 1000;

/// The log lines a component instance has left for its current message. Cheap to clone:
/// the clones share the count.
#[derive(Debug, Clone)]
pub(crate) struct LogBudget {
    component: Arc<str>,
    left: Arc<AtomicI64>,
    metrics: Arc<Metrics>,
}

impl LogBudget {
    pub(crate) fn new(component: Arc<str>, metrics: Arc<Metrics>) -> LogBudget {
        LogBudget {
            component,
            left: Arc::new(AtomicI64::new(i64::from(MAX_LOG_LINES_PER_MESSAGE))),
            metrics,
        }
    }

    /// The component whose lines these are.
    pub(crate) fn component(&self) -> &str {
        &self.component
    }

    /// A new message starts with a full budget.
    pub(crate) fn refill(&self) {
        self.left
            .store(i64::from(MAX_LOG_LINES_PER_MESSAGE), Ordering::Relaxed);
    }

    /// Takes one line from the budget: `true` when it may be emitted. A line refused is
    /// counted; the first refused in a message is announced by a warning.
    pub(crate) fn take(&self) -> bool {
        let before = self.left.fetch_sub(1, Ordering::Relaxed);
        if before > 0 {
            return true;
        }
        self.metrics.logs_dropped.fetch_add(1, Ordering::Relaxed);
        if before == 0 {
            tracing::warn!(
                component = %self.component,
                budget = MAX_LOG_LINES_PER_MESSAGE,
                "log lines past the per-message budget are dropped until the next message"
            );
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_budget_are_dropped_and_counted_until_refilled() {
        let metrics = Arc::new(Metrics::default());
        let budget = LogBudget::new("c".into(), metrics.clone());
        let taken = (0..MAX_LOG_LINES_PER_MESSAGE + 5)
            .filter(|_| budget.take())
            .count();
        assert_eq!(taken, MAX_LOG_LINES_PER_MESSAGE as usize);
        assert_eq!(metrics.snapshot().logs_dropped, 5);
        budget.refill();
        assert!(budget.take());
        assert_eq!(metrics.snapshot().logs_dropped, 5);
    }
}
