//! [`Router`]: where a component's `send` and `request` go.
//!
//! The store holds one (the `Host`'s registry, in a running host); the messaging import
//! calls it. It is defined here, beside the store data, so that neither the store nor the
//! import depends on the other.

use std::future::Future;
use std::pin::Pin;

/// Where a component's `send` and `request` go.
///
/// Errors are strings for the guest, prefixed with the error kind (`not-found: ...`,
/// `overloaded: ...`, `trap: ...`).
pub trait Router: Send + Sync + 'static {
    /// Delivers a message without waiting for room or a reply.
    fn send(&self, from: &str, to: &str, topic: String, payload: Vec<u8>) -> Result<(), String>;

    /// Delivers a message and waits for the reply. `deadline` is the caller's own: the
    /// caller stops waiting there, and a request that leaves the host carries it along.
    fn request<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        topic: String,
        payload: Vec<u8>,
        deadline: std::time::Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}
