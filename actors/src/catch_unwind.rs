//! Turning panics in actor code into values (internal).
//!
//! [`CatchUnwind`] wraps an `Unpin` future (use `std::pin::pin!` to get one without
//! allocating) and resolves to `Err(panic message)` if polling it panics.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that catches a panic raised while polling `inner`.
///
/// Unwind safety is asserted: after a panic the actor's state is discarded (the
/// incarnation ends), so no broken invariant is observed afterwards.
pub(crate) struct CatchUnwind<F> {
    inner: F,
}

impl<F: Future + Unpin> CatchUnwind<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// Runs a synchronous closure, turning a panic into `Err(panic message)`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_values_through() {
        let fut = std::pin::pin!(async { 41 + 1 });
        assert_eq!(CatchUnwind::new(fut).await, Ok(42));
    }

    #[tokio::test]
    async fn catches_a_panic_after_a_pending_poll() {
        let fut = std::pin::pin!(async {
            tokio::task::yield_now().await;
            if true {
                panic!("boom {}", 7);
            }
            0
        });
        assert_eq!(CatchUnwind::new(fut).await, Err("boom 7".to_owned()));
    }

    #[test]
    fn catches_sync_panics_with_str_payload() {
        let result: Result<(), String> = catch(|| panic!("plain"));
        assert_eq!(result, Err("plain".to_owned()));
    }

    #[test]
    fn non_string_payload_has_a_placeholder() {
        let result: Result<(), String> = catch(|| std::panic::panic_any(5_u8));
        assert_eq!(result, Err("panic with a non-string payload".to_owned()));
    }
}
