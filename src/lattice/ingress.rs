//! The callee's side: this host's exported components, served to the lattice.
//!
//! The ingress owns the subscriptions, not the component actors: a component restarting
//! keeps its subscription (requests wait in its mailbox, as local ones do), and one that
//! stopped for good (removed, or its supervisor gave up) loses it, so the queue group
//! hands its requests to the other replicas. Each request is run with [`Host::ask_here`]
//! within the budget it carries, and acked if its answer is not ready after
//! [`ACK_AFTER`]; admission is the mailbox's
//! (`overloaded` when full): the subscription is always read.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_nats::client::PublishErrorKind;
use async_nats::{Client, Message};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::caller::too_large;
use super::wire;
use crate::engine::executor::{poll_once, run_here_first};
use crate::host::{ComponentEvent, ComponentState, Host};
use crate::manifest::LatticeSettings;

/// How long a request runs before its host acks it (names itself as the one that took it).
pub(crate) const ACK_AFTER: Duration = Duration::from_millis(25);

/// The subscriptions of one host's exported components.
pub(crate) struct Ingress {
    shared: Arc<Shared>,
    follow: JoinHandle<()>,
}

struct Shared {
    client: Client,
    host: Host,
    settings: LatticeSettings,
    /// This host's id on the lattice, as acks name it.
    id: String,
    /// A reading task per served component, and what tells it to stop.
    served: Mutex<HashMap<String, Reader>>,
    /// Requests taken and not yet answered.
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set once the host drains: no new subscription.
    closed: std::sync::atomic::AtomicBool,
    /// Raised when the components served change: the host announces them at once, so
    /// callers stop choosing it for one it no longer serves.
    changed: Notify,
}

/// The task reading one component's subscription.
struct Reader {
    task: JoinHandle<()>,
    /// Raised to stop: the task unsubscribes, answers what was already delivered, and
    /// ends.
    stop: Arc<Notify>,
}

impl Drop for Ingress {
    fn drop(&mut self) {
        self.follow.abort();
        for (_, reader) in self.shared.take_all() {
            reader.task.abort();
        }
    }
}

impl Ingress {
    /// Serves every running exported component of `host`, and follows its components as
    /// they start and stop.
    pub(crate) async fn start(
        client: Client,
        host: &Host,
        settings: &LatticeSettings,
        id: &str,
    ) -> Ingress {
        let shared = Arc::new(Shared {
            client,
            host: host.clone(),
            settings: settings.clone(),
            id: id.to_string(),
            served: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            closed: Default::default(),
            changed: Notify::new(),
        });
        // Subscribed to the events first: a component starting meanwhile is not missed.
        let mut events = host.events();
        for name in host.components() {
            if matches!(host.state(&name), Ok(ComponentState::Running)) {
                shared.serve(&name).await;
            }
        }
        let follow = {
            let shared = shared.clone();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(ComponentEvent::Started { component }) => shared.serve(&component).await,
                        Ok(ComponentEvent::Stopped { component, .. }) => shared.unserve(&component),
                        Ok(ComponentEvent::Restarted { .. }) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            shared.resync().await
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
        };
        Ingress { shared, follow }
    }

    /// The components served now, sorted.
    pub(crate) fn served(&self) -> Vec<String> {
        self.shared.served()
    }

    /// Until the components served change (at once if they did since the last call).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a change not waited for is kept for the next call.
    pub(crate) async fn changed(&self) {
        self.shared.changed.notified().await;
    }

    /// Stops taking requests: every subscription is ended, and once the server has
    /// processed that (at most 1 s), the queue groups hand new requests to other hosts.
    /// What was delivered before is still answered. Only the first call does anything.
    pub(crate) async fn stop_taking(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.follow.abort();
        let readers = self.shared.take_all();
        self.shared.changed.notify_one();
        for (_, reader) in &readers {
            reader.stop.notify_one();
        }
        for (_, reader) in readers {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader.task).await;
        }
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            super::round_trip(&self.shared.client),
        )
        .await;
    }

    /// [`Ingress::stop_taking`], then waits up to `limit` for the requests taken to be
    /// answered; whether they all were.
    pub(crate) async fn drain(&self, limit: Duration) -> bool {
        self.stop_taking().await;
        let until = Instant::now() + limit;
        loop {
            let idle = self.shared.idle.notified();
            if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(until.into(), idle).await.is_err() {
                return false;
            }
        }
    }
}

impl Shared {
    fn served(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .served
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    async fn serve(self: &Arc<Self>, name: &str) {
        if self.closed.load(Ordering::SeqCst) || !self.settings.exports(name) {
            return;
        }
        if self.served.lock().is_ok_and(|s| s.contains_key(name)) {
            return;
        }
        let lattice = &self.settings.name;
        let subject = wire::component_subjects(lattice, name);
        let direct = wire::direct_subjects(lattice, &self.id, name);
        let subscribed = match self
            .client
            .queue_subscribe(subject.clone(), wire::queue_group(lattice, name))
            .await
        {
            Ok(shared) => self
                .client
                .subscribe(direct.clone())
                .await
                .map(|d| (shared, d)),
            Err(error) => Err(error),
        };
        let (shared_subscription, direct_subscription) = match subscribed {
            Ok(subscriptions) => subscriptions,
            Err(error) => {
                tracing::warn!(component = %name, %subject, %direct, %error, "lattice: cannot serve this component");
                return;
            }
        };
        // One stream of both: the queue group's share, and what is asked of this host by
        // name.
        let mut subscription =
            futures_util::stream::select(shared_subscription, direct_subscription);
        let stop = Arc::new(Notify::new());
        let task = {
            let shared = self.clone();
            let name: Arc<str> = Arc::from(name);
            let stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        message = subscription.next() => match message {
                            Some(message) => shared.take(&name, message).await,
                            None => return,
                        },
                        () = stop.notified() => break,
                    }
                }
                // Unsubscribed, then what the server had already delivered is answered.
                let (shared_subscription, direct_subscription) = subscription.get_mut();
                let _ = shared_subscription.drain().await;
                let _ = direct_subscription.drain().await;
                while let Some(message) = subscription.next().await {
                    shared.take(&name, message).await;
                }
            })
        };
        if let Ok(mut served) = self.served.lock()
            && let Some(old) = served.insert(name.to_string(), Reader { task, stop })
        {
            old.stop.notify_one();
        }
        self.changed.notify_one();
        tracing::info!(component = %name, lattice = %lattice, "serving on the lattice");
    }

    /// Runs and answers one request, counted in flight until answered. The run is polled
    /// once on the reading task: a message that runs at once on an idle component (most
    /// do) is answered there, without a task hop; one that waits moves to a task of its
    /// own, and so does a publish of the answer that has to wait (the connection's queue
    /// full), so the subscription is always read. What moves is boxed apart (the run,
    /// the publish), each small: one box of both would be past the allocator's
    /// per-thread cache, for every request.
    async fn take(self: &Arc<Self>, name: &Arc<str>, request: Message) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let Message {
            subject,
            reply,
            payload,
            ..
        } = request;
        let Some((asked, message)) = wire::parse_request(&payload) else {
            tracing::warn!(component = %name, %subject, "lattice: a malformed request, dropped");
            return self.answered();
        };
        let (Some(reply_to), Some(asked)) = (reply, asked) else {
            // A send: no reply, no ack.
            if let Err(undelivered) = self.host.tell_here(name, message) {
                tracing::debug!(component = %name, error = %undelivered, "lattice send not delivered");
            }
            return self.answered();
        };
        if !subject.ends_with(".ask") {
            return self.answered();
        }
        let deadline = Some(Instant::now() + asked.budget);
        let mut ask = Box::pin(self.host.ask_here(name, message, deadline));
        match poll_once(ask.as_mut()).await {
            Poll::Ready(outcome) => {
                run_here_first(self.answer(name, reply_to, outcome)).await;
            }
            Poll::Pending => {
                // Acked only when the answer takes a while: most answers come first, and an
                // ack is a message more through the server for each request.
                let ack_to = asked.ack_to.to_string();
                let shared = self.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    let outcome = match tokio::time::timeout(ACK_AFTER, &mut ask).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            let ack = wire::ack_headers(&shared.id);
                            let _ = shared
                                .client
                                .publish_with_headers(ack_to, ack, Default::default())
                                .await;
                            ask.await
                        }
                    };
                    shared.answer(&name, reply_to, outcome).await;
                });
            }
        }
    }

    /// The publish of a request run's answer, boxed apart so that it can move to a task
    /// of its own if it has to wait. The request counts as answered once it is published.
    fn answer(
        self: &Arc<Self>,
        name: &Arc<str>,
        reply_to: async_nats::Subject,
        outcome: Result<crate::engine::executor::Reply, crate::error::Error>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let answer = match outcome {
            Ok(reply) => Answer {
                reply_to,
                headers: None,
                body: wire::reply(reply),
            },
            Err(error) => {
                let (headers, body) = wire::error_reply(&error, &self.id);
                Answer {
                    reply_to,
                    headers: Some(headers),
                    body,
                }
            }
        };
        let shared = self.clone();
        let name = name.clone();
        // A reply within max_payload (most are) is one publish: a future of its own, small.
        if answer.headers.is_none() && answer.body.len() <= self.client.max_payload() {
            Box::pin(async move {
                if let Err(error) = shared.client.publish(answer.reply_to, answer.body).await {
                    tracing::warn!(component = %name, %error, "lattice: cannot answer a request");
                }
                shared.answered();
            })
        } else {
            Box::pin(async move {
                shared.send(&name, answer).await;
                shared.answered();
            })
        }
    }

    /// One request taken is answered (or needs none).
    fn answered(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn unserve(&self, name: &str) {
        let reader = self.served.lock().ok().and_then(|mut s| s.remove(name));
        if let Some(reader) = reader {
            self.changed.notify_one();
            reader.stop.notify_one();
            tracing::info!(component = %name, "no longer serving on the lattice");
        }
    }

    fn take_all(&self) -> Vec<(String, Reader)> {
        self.served
            .lock()
            .map(|mut s| s.drain().collect())
            .unwrap_or_default()
    }

    /// After missed events: serve what runs, drop what does not.
    async fn resync(self: &Arc<Self>) {
        let running: Vec<String> = self
            .host
            .components()
            .into_iter()
            .filter(|n| matches!(self.host.state(n), Ok(ComponentState::Running)))
            .collect();
        for name in self.served() {
            if !running.contains(&name) {
                self.unserve(&name);
            }
        }
        for name in &running {
            self.serve(name).await;
        }
    }

    /// Publishes one answer; one over `max_payload` is answered `too-large` instead.
    async fn send(&self, name: &str, answer: Answer) {
        let Answer {
            reply_to,
            headers,
            body,
        } = answer;
        let limit = self.client.max_payload();
        let size = body.len();
        let too_big = if size > limit {
            true
        } else {
            let published = match headers {
                Some(headers) => {
                    self.client
                        .publish_with_headers(reply_to.clone(), headers, body)
                        .await
                }
                None => self.client.publish(reply_to.clone(), body).await,
            };
            match published {
                Ok(()) => false,
                // Under max_payload alone, over it with the headers.
                Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => true,
                Err(error) => {
                    tracing::warn!(component = %name, %error, "lattice: cannot answer a request");
                    false
                }
            }
        };
        if too_big {
            // A small answer that says so rather than none (the caller would wait out its
            // deadline).
            let (headers, body) =
                wire::error_reply(&too_large(name, "the reply", size, limit), &self.id);
            if let Err(error) = self
                .client
                .publish_with_headers(reply_to, headers, body)
                .await
            {
                tracing::warn!(component = %name, %error, "lattice: cannot answer a request");
            }
        }
    }
}

/// A request's answer, ready to publish.
struct Answer {
    reply_to: async_nats::Subject,
    headers: Option<async_nats::HeaderMap>,
    body: bytes::Bytes,
}
