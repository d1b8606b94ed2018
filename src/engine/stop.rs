//! [`StopSignal`]: how the layers above tell a running call that its component is stopping.
//!
//! The executor waits on it beside a call's deadline; the actor layer raises it when an
//! incarnation stops. It lives here, below the actor layer, so the executor needs nothing
//! from above.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Raised once when an incarnation stops; wakes a call that is waiting for it.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    raised: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// Raises the signal (for good).
    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether it has been raised.
    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Completes once the signal is raised.
    pub(crate) async fn raised(&self) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if self.is_raised() {
            return;
        }
        notified.await;
    }
}
