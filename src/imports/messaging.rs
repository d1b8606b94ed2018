//! `airssys:component/messaging`: `send` and `request` to other components, when granted.
//!
//! The host routes through a [`Router`](crate::store::Router) (the component registry, in
//! a running host). A target the manifest's `messaging` grant does not list is refused
//! with `err("denied: ...")` ([`Error::Denied`] as the guest sees it), returned to the
//! guest. Time a `request` waits counts against the
//! caller's own deadline: when it passes, the caller's message ends in `timeout`, so an
//! A→B→A cycle never hangs.

use super::bindings::airssys::component::messaging::Host as MessagingImport;
use crate::error::Error;
use crate::store::{DeadlineExceeded, StoreData};

impl StoreData {
    fn check_grant(&self, op: &str, to: &str) -> Result<(), String> {
        if self.messaging.grant.allows(to) {
            return Ok(());
        }
        tracing::debug!(component = %self.name, target = to, op, "denied: messaging not granted");
        self.count_denied();
        Err(Error::Denied {
            component: self.name.to_string(),
            what: format!("{op} to `{to}`: it is not in the manifest's capabilities.messaging"),
        }
        .for_guest())
    }
}

impl MessagingImport for StoreData {
    fn send(
        &mut self,
        to: String,
        topic: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(denied) = self.check_grant("send", &to) {
            return Ok(Err(denied));
        }
        Ok(match &self.messaging.router {
            Some(router) => router.send(&self.name, &to, topic, payload),
            None => Err(format!(
                "not-found: no component named `{to}` (this host has no router)"
            )),
        })
    }

    async fn request(
        &mut self,
        to: String,
        topic: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        if let Err(denied) = self.check_grant("request", &to) {
            return Ok(Err(denied));
        }
        let Some(router) = self.messaging.router.clone() else {
            return Ok(Err(format!(
                "not-found: no component named `{to}` (this host has no router)"
            )));
        };
        let deadline = tokio::time::Instant::from_std(self.deadline);
        match tokio::time::timeout_at(
            deadline,
            router.request(&self.name, &to, topic, payload, self.deadline),
        )
        .await
        {
            // A reply that comes in once the caller's own time is over (the timer and the
            // reply woke it in the same tick) is too late for it: its message timed out.
            Ok(_) if std::time::Instant::now() >= self.deadline => {
                Err(wasmtime::Error::new(DeadlineExceeded))
            }
            Ok(reply) => Ok(reply),
            Err(_) => Err(wasmtime::Error::new(DeadlineExceeded)),
        }
    }
}
