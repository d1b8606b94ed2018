//! The caller's side: asks and sends to components on other hosts of the lattice.
//!
//! An ask is a NATS publish whose reply subject is `airssys.v2.L.r.ID.SEQ`: its answer
//! comes there, and so does the ack a host sends when the answer takes more than 25 ms,
//! through one subscription for all of a caller's asks, which hands each to its ask by
//! its number (no request inbox of async-nats', no string per ask for it). With neither
//! answer nor ack within [`UNACKED`], the request was lost with the host that took it
//! (`stopped`). Asks and sends are published by one task per caller, everything queued at
//! once together, so that one write to the server carries the requests of many asks. The
//! hosts' announcements
//! (`airssys.v2.L.h.*.*`) keep a table of who is alive and what it exports: an ask acked by
//! a host that stops announcing itself for [`LAPSE`](super::LAPSE), or says it is gone,
//! ends `stopped` then, not at its deadline; a send to a name no live host exports is
//! `not-found` at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_nats::client::PublishErrorKind;
use async_nats::{Client, Message, StatusCode};
use futures_util::StreamExt;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::wire::{self, Presence};
use super::{DEFAULT_DEADLINE, LAPSE, LatticeError};
use crate::engine::executor::Reply;
use crate::error::Error;
use crate::imports::ComponentMessage;
use crate::manifest::is_valid_name;

/// What limits a message's size on the lattice, as errors name it.
pub(crate) const MAX_PAYLOAD: &str = "the lattice's max_payload (NATS server)";

/// How long a host that left or went silent is remembered.
const FORGET: Duration = Duration::from_secs(60);

/// A host heard from within this (two heartbeats and a half) is live: the names it
/// announces are asked of it by its own subject. One silent longer is left out, even
/// while its NATS server still counts it in the queue groups (by default the server drops
/// a client that stopped answering its pings after two pings, two minutes apart).
const LIVE: Duration = Duration::from_millis(1_250);

/// Requests waiting to be published, per caller: past this, a send is `overloaded` and an
/// ask waits for room (within the time it has for its ack).
const OUTBOUND_QUEUE: usize = 4096;

/// How long an ask whose host is gone still waits for a reply already sent.
const GONE_GRACE: Duration = Duration::from_millis(250);

/// How long an ask waits for the ack or the answer of the host that took it before it
/// counts the request as lost with that host (a live host acks within 25 ms).
const UNACKED: Duration = Duration::from_secs(2);

/// How often a waiting ask looks whether the host that took it is still there.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// The asks waiting, by sequence number: where the inbox hands each what comes for it.
type Pending = Mutex<HashMap<u64, oneshot::Sender<Inbound>>>;

/// What the inbox hands an ask.
enum Inbound {
    /// The host that took it acked it; its answer will come through `answer`.
    Acked {
        host: String,
        answer: oneshot::Receiver<Inbound>,
    },
    /// Its answer (a reply, an error reply, or the server's no-responders status).
    Answer(Message),
    /// Its request could not be published.
    Unsent(async_nats::PublishError),
}

/// The hosts of the lattice as their announcements tell.
#[derive(Default)]
pub(crate) struct Hosts {
    seen: RwLock<HashMap<String, Seen>>,
    /// Woken when a host says it is gone.
    left: Notify,
    /// Woken when a host is heard.
    heard: Notify,
}

struct Seen {
    last: Instant,
    gone: bool,
    exports: Vec<Export>,
}

/// A component a host announces, and the subject it is asked at there (made once per
/// announcement, not per ask).
struct Export {
    name: String,
    ask: async_nats::Subject,
}

impl Export {
    fn new(lattice: &str, host: &str, name: String) -> Export {
        let ask = wire::direct_subject(lattice, host, &name, wire::ASK).into();
        Export { name, ask }
    }
}

impl Hosts {
    fn heard(&self, host: &str, presence: Presence, exports: Vec<Export>) {
        if let Ok(mut seen) = self.seen.write() {
            // Every incarnation of a host has an id of its own: forget the long gone.
            seen.retain(|_, s| s.last.elapsed() < FORGET);
            seen.insert(
                host.to_string(),
                Seen {
                    last: Instant::now(),
                    gone: presence == Presence::Gone,
                    exports,
                },
            );
        }
        if presence == Presence::Gone {
            self.left.notify_waiters();
        }
        self.heard.notify_waiters();
    }

    /// The subject to ask `name` at (`way`: [`wire::ASK`] or [`wire::SEND`]): the
    /// `pick`th (modulo) of the live hosts announcing it, by its own subject; `None` (the
    /// queue group chooses) when no live host announces it (yet).
    fn route(
        &self,
        lattice: &str,
        name: &str,
        way: &str,
        pick: u64,
    ) -> Option<async_nats::Subject> {
        let seen = self.seen.read().ok()?;
        // One clock read for every host looked at, both times.
        let now = Instant::now();
        let live = || {
            seen.iter().filter_map(move |(host, s)| {
                let export = s.exports.iter().find(|e| e.name == name)?;
                let fresh = now.saturating_duration_since(s.last) <= LIVE;
                (!s.gone && fresh).then_some((host, export))
            })
        };
        let count = u64::try_from(live().count()).ok().filter(|n| *n > 0)?;
        let (host, export) = live().nth(usize::try_from(pick % count).ok()?)?;
        if way == wire::ASK {
            return Some(export.ask.clone());
        }
        Some(wire::direct_subject(lattice, host, name, way).into())
    }

    /// Waits until a host is heard, at most `limit`; whether one was.
    async fn any_heard(&self, limit: Duration) -> bool {
        let heard = self.heard.notified();
        if self.seen.read().is_ok_and(|seen| !seen.is_empty()) {
            return true;
        }
        tokio::time::timeout(limit, heard).await.is_ok()
    }

    /// Why `host`, which took a request at `since`, will not answer it; `None` while it
    /// may.
    fn lost(&self, host: &str, since: Instant) -> Option<String> {
        let seen = self.seen.read().ok()?;
        match seen.get(host) {
            Some(s) if s.gone => Some(format!("host {host} left the lattice")),
            Some(s) if s.last.max(since).elapsed() > LAPSE => Some(format!(
                "host {host} went silent (no heartbeat for {} ms)",
                s.last.elapsed().as_millis()
            )),
            None if since.elapsed() > LAPSE => Some(format!("host {host} was never heard from")),
            _ => None,
        }
    }

    /// Whether a live host exports `name`.
    fn exported(&self, name: &str) -> bool {
        self.seen.read().is_ok_and(|seen| {
            seen.values().any(|s| {
                !s.gone && s.last.elapsed() <= LAPSE && s.exports.iter().any(|e| e.name == name)
            })
        })
    }
}

/// A caller on the lattice: a host, or `airssys-wasm ask`.
pub(crate) struct Caller {
    client: Client,
    lattice: String,
    inbox: String,
    pending: Arc<Pending>,
    /// The sequence number of the next ask (its ack subject).
    next: AtomicU64,
    /// Whose turn it is among the live hosts announcing a name.
    turn: AtomicU64,
    hosts: Arc<Hosts>,
    /// Requests (asks and sends), published by a task of their own in the order made.
    outbound: mpsc::Sender<Outbound>,
    tasks: Vec<JoinHandle<()>>,
}

/// A request waiting to be published.
enum Outbound {
    /// A send: subject, body.
    Send(async_nats::Subject, bytes::Bytes),
    /// An ask's request: subject, reply subject, body, and the ask's number, by which the
    /// publisher tells the ask when it could not be published.
    Ask {
        subject: async_nats::Subject,
        reply_to: async_nats::Subject,
        body: bytes::Bytes,
        seq: u64,
    },
}

/// Publishes what the callers queue, all that is queued at once: each publish hands a
/// command to the connection's task, which writes every command it finds in one write.
/// An ask given up meanwhile (its deadline or its caller gone) is not published.
async fn publish_queued(
    client: Client,
    pending: Arc<Pending>,
    mut queued: mpsc::Receiver<Outbound>,
) {
    while let Some(first) = queued.recv().await {
        // The worker runs everything else that is ready first (the other asks made now,
        // which queue theirs), so one write to the server carries them all; an ask that
        // published itself would wake the connection's task and have it write its request
        // alone.
        tokio::task::yield_now().await;
        let mut next = Some(first);
        while let Some(outbound) = next {
            match outbound {
                Outbound::Send(subject, body) => {
                    if let Err(error) = client.publish(subject.clone(), body).await {
                        tracing::warn!(%subject, %error, "lattice send failed");
                    }
                }
                Outbound::Ask {
                    subject,
                    reply_to,
                    body,
                    seq,
                } => {
                    let wanted = pending.lock().is_ok_and(|p| p.contains_key(&seq));
                    if wanted
                        && let Err(error) = client.publish_with_reply(subject, reply_to, body).await
                        && let Some(waiting) = pending.lock().ok().and_then(|mut p| p.remove(&seq))
                    {
                        let _ = waiting.send(Inbound::Unsent(error));
                    }
                }
            }
            next = queued.try_recv().ok();
        }
    }
}

impl Drop for Caller {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Caller {
    /// Subscribes the inbox on `client` and the announcements on `control`.
    pub(crate) async fn start(
        client: Client,
        control: &Client,
        lattice: &str,
        id: &str,
    ) -> Result<Caller, LatticeError> {
        let subscribe_error = |subject: String| {
            let lattice = lattice.to_string();
            move |source| LatticeError::Subscribe {
                lattice,
                subject,
                source,
            }
        };
        let inbox = wire::inbox_prefix(lattice, id);
        let replies = format!("{inbox}.*");
        let mut inbound = client
            .subscribe(replies.clone())
            .await
            .map_err(subscribe_error(replies))?;
        let presence = wire::presence_subjects(lattice);
        let mut announcements = control
            .subscribe(presence.clone())
            .await
            .map_err(subscribe_error(presence))?;
        let pending: Arc<Pending> = Arc::default();
        let hosts: Arc<Hosts> = Arc::default();
        let dispatch = {
            let pending = pending.clone();
            // Never waits but on the subscription: it is always read (a full subscription
            // would drop answers).
            tokio::spawn(async move {
                while let Some(message) = inbound.next().await {
                    let Some(seq) = message
                        .subject
                        .rsplit('.')
                        .next()
                        .and_then(|s| s.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    let ack = wire::header(message.headers.as_ref(), wire::ACK).map(str::to_string);
                    let handed = match pending.lock() {
                        // Not there: answered already, or given up (deadline, caller gone).
                        Ok(mut pending) => pending.remove(&seq).map(|waiting| match ack {
                            // Acked: its answer comes later, to the same subject.
                            Some(host) => {
                                let (answered, answer) = oneshot::channel();
                                pending.insert(seq, answered);
                                (waiting, Inbound::Acked { host, answer })
                            }
                            None => (waiting, Inbound::Answer(message)),
                        }),
                        Err(_) => None,
                    };
                    if let Some((waiting, inbound)) = handed {
                        let _ = waiting.send(inbound);
                    }
                }
            })
        };
        let listen = {
            let hosts = hosts.clone();
            let lattice = lattice.to_string();
            tokio::spawn(async move {
                while let Some(message) = announcements.next().await {
                    if let Some((host, presence)) = wire::parse_presence(&message.subject) {
                        let exports = String::from_utf8_lossy(&message.payload)
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|name| Export::new(&lattice, host, name.to_string()))
                            .collect();
                        hosts.heard(host, presence, exports);
                    }
                }
            })
        };
        let (outbound, queued) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
        let publish = tokio::spawn(publish_queued(client.clone(), pending.clone(), queued));
        Ok(Caller {
            client,
            lattice: lattice.to_string(),
            inbox,
            pending,
            next: AtomicU64::new(1),
            // Callers take turns from different places: no host is every caller's first.
            turn: AtomicU64::new({
                use std::hash::{BuildHasher, RandomState};
                RandomState::new().hash_one(id)
            }),
            hosts,
            outbound,
            tasks: vec![dispatch, listen, publish],
        })
    }

    /// Asks every host to announce itself now (`hello`), on `control`, without waiting.
    pub(crate) async fn hello(&self, control: &Client) {
        let _ = control
            .publish(wire::hello_subject(&self.lattice), bytes::Bytes::new())
            .await;
    }

    /// Asks every host to announce itself now (`hello`) and waits for the answers: until
    /// the first comes (at most [`HEARTBEAT`](super::HEARTBEAT) and a bit), then as long
    /// again (at least 10 ms), as the others answer about as fast. With no host at all,
    /// it returns after that first wait.
    pub(crate) async fn warm_up(&self, control: &Client) {
        let started = Instant::now();
        self.hello(control).await;
        let _ = control.flush().await;
        if self
            .hosts
            .any_heard(super::HEARTBEAT + Duration::from_millis(100))
            .await
        {
            let first = started.elapsed();
            tokio::time::sleep(first.max(Duration::from_millis(10))).await;
        }
    }

    /// Asks the component `to` on whichever host of the lattice serves it, within
    /// `deadline` (or [`DEFAULT_DEADLINE`] from now).
    pub(crate) async fn ask(
        &self,
        to: &str,
        message: ComponentMessage,
        deadline: Option<Instant>,
    ) -> Result<Reply, Error> {
        if !is_valid_name(to) {
            // Not a component name (nor a NATS subject token): no host can run it.
            return Err(Error::NotFound {
                name: to.to_string(),
            });
        }
        let started = Instant::now();
        let deadline = deadline.unwrap_or(started + DEFAULT_DEADLINE);
        let ask = Ask {
            to,
            started,
            deadline,
        };
        let pick = self.turn.fetch_add(1, Ordering::Relaxed);
        if let Some(direct) = self.hosts.route(&self.lattice, to, wire::ASK, pick) {
            match self.ask_at(direct, &ask, &message).await {
                // It stopped serving `to` since it last said so: the queue group decides.
                Err(Error::NotFound { .. }) if Instant::now() < deadline => {}
                outcome => return outcome,
            }
        }
        self.ask_at(wire::ask_subject(&self.lattice, to).into(), &ask, &message)
            .await
    }

    /// One try of `ask` at `subject`.
    async fn ask_at(
        &self,
        subject: async_nats::Subject,
        ask: &Ask<'_>,
        message: &ComponentMessage,
    ) -> Result<Reply, Error> {
        let Ask { to, deadline, .. } = *ask;
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Err(ask.timed_out());
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let body = wire::request_body(
            Some(wire::Asking {
                budget: left,
                inbox: &self.inbox,
                seq,
            }),
            message,
        );
        let size = body.len();
        // Past max_payload, async-nats would refuse the publish before sending: said at once.
        self.fits(to, size)?;
        // `INBOX.SEQ`, where the answer and the ack come: a slice of the body.
        let Some(reply_to) = wire::ack_subject(&body) else {
            return Err(Error::Stopped {
                component: to.to_string(),
                reason: format!("this caller's inbox `{}` is not a subject", self.inbox),
            });
        };
        let (waiting, inbound) = oneshot::channel();
        let _waiting = Waiting::new(&self.pending, seq, waiting);
        // Until a host acks it (most answers come first): one bound, the deadline or the
        // ack a live host sends within 25 ms; it also bounds the wait for room in the
        // queue of requests to publish, full while the connection is down. The wait for
        // room and the wait for the answer are awaited apart, so the two futures share
        // their room in this one's.
        let unacked = (now + UNACKED).min(deadline);
        // Queued for the publisher. Only an ask that finds the queue full waits for room,
        // boxed: inline, that wait would make every ask's future larger than the
        // allocator's per-thread cache takes (1 KiB), so that each ask took the allocator's
        // lock, contended between the runtime's threads. (Nothing named lives across the
        // wait but the box, for the same reason.)
        let full = match self.outbound.try_send(Outbound::Ask {
            subject,
            reply_to,
            body,
            seq,
        }) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(self.closed(to)),
            Err(mpsc::error::TrySendError::Full(request)) => {
                Some(Box::pin(self.outbound.send(request)))
            }
        };
        if let Some(queued) = full {
            match tokio::time::timeout_at(unacked.into(), queued).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(self.closed(to)),
                Err(_) => return Err(self.unacked(ask)),
            }
        }
        let first = tokio::time::timeout_at(unacked.into(), inbound).await;
        let (host, answer) = match first {
            Ok(Ok(Inbound::Answer(answer))) => return ask.answered("?", &answer),
            Ok(Ok(Inbound::Unsent(e))) => return Err(self.publish_error(to, size, &e)),
            Ok(Ok(Inbound::Acked { host, answer })) => (host, answer),
            Ok(Err(_)) => return Err(self.closed(to)),
            Err(_) => return Err(self.unacked(ask)),
        };
        // Acked (rare: most answers come within 25 ms): its own future, boxed, so that every
        // ask's future is not as large as this wait's.
        Box::pin(self.acked(ask, host, answer)).await
    }

    /// The rest of an ask whose host acked it: the answer, the deadline, or the host known
    /// gone.
    async fn acked(
        &self,
        ask: &Ask<'_>,
        host: String,
        mut answer: oneshot::Receiver<Inbound>,
    ) -> Result<Reply, Error> {
        let Ask { to, deadline, .. } = *ask;
        let since = Instant::now();
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                inbound = &mut answer => match inbound {
                    Ok(Inbound::Answer(reply)) => return ask.answered(&host, &reply),
                    // Acked again: the answer comes through the new receiver.
                    Ok(Inbound::Acked { answer: next, .. }) => answer = next,
                    // (Only an ask not yet published can be unsent.)
                    Ok(Inbound::Unsent(_)) | Err(_) => return Err(self.closed(to)),
                },
                () = &mut sleep => return Err(ask.timed_out()),
                () = self.hosts.left.notified() => {}
                () = tokio::time::sleep(WATCH_EVERY) => {}
            }
            if let Some(reason) = self.hosts.lost(&host, since) {
                // A reply it sent just before leaving may still be on its way: it comes
                // on the data connection, the announcement on the control one.
                let grace = (Instant::now() + GONE_GRACE).min(deadline);
                if let Ok(Ok(Inbound::Answer(reply))) =
                    tokio::time::timeout_at(grace.into(), &mut answer).await
                {
                    return ask.answered(&host, &reply);
                }
                return Err(Error::Stopped {
                    component: to.to_string(),
                    reason: format!("{reason} while handling this message"),
                });
            }
        }
    }

    /// Sends to the component `to` on a host of the lattice, without waiting.
    ///
    /// # Errors
    ///
    /// `not-found` when no live host exports `to`; `too-large` past `max_payload`;
    /// `overloaded` when more sends wait to be published than the queue holds.
    pub(crate) fn tell(&self, to: &str, message: ComponentMessage) -> Result<(), Error> {
        if !is_valid_name(to) || !self.hosts.exported(to) {
            return Err(Error::NotFound {
                name: to.to_string(),
            });
        }
        let body = wire::request_body(None, &message);
        self.fits(to, body.len())?;
        let pick = self.turn.fetch_add(1, Ordering::Relaxed);
        let subject = self
            .hosts
            .route(&self.lattice, to, wire::SEND, pick)
            .unwrap_or_else(|| wire::send_subject(&self.lattice, to).into());
        self.outbound
            .try_send(Outbound::Send(subject, body))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::Overloaded {
                    component: to.to_string(),
                },
                mpsc::error::TrySendError::Closed(_) => self.closed(to),
            })
    }

    /// `too-large` when a message of `size` bytes cannot travel.
    fn fits(&self, to: &str, size: usize) -> Result<(), Error> {
        let limit = self.client.max_payload();
        if size > limit {
            return Err(too_large(to, "the message", size, limit));
        }
        Ok(())
    }

    fn publish_error(&self, to: &str, size: usize, error: &async_nats::PublishError) -> Error {
        match error.kind() {
            PublishErrorKind::MaxPayloadExceeded => {
                too_large(to, "the message", size, self.client.max_payload())
            }
            _ => Error::Stopped {
                component: to.to_string(),
                reason: format!("the lattice connection failed: {error}"),
            },
        }
    }

    /// Neither answer nor ack within [`UNACKED`] (`stopped`: lost with the host that took
    /// it), or not by its deadline (`timeout`).
    fn unacked(&self, ask: &Ask<'_>) -> Error {
        if Instant::now() >= ask.deadline {
            return ask.timed_out();
        }
        // This request was lost with a host that died or was cut off as it took it.
        Error::Stopped {
            component: ask.to.to_string(),
            reason: format!(
                "no host answered or acknowledged it within {} ms (the host that took it is gone)",
                UNACKED.as_millis()
            ),
        }
    }

    /// `stopped`: this caller's inbox is gone (its connection closed for good).
    fn closed(&self, to: &str) -> Error {
        Error::Stopped {
            component: to.to_string(),
            reason: "the lattice connection closed".into(),
        }
    }
}

/// `too-large` for `what` (`the message`, `the reply`) of `size` bytes past `limit`.
pub(crate) fn too_large(to: &str, what: &str, size: usize, limit: usize) -> Error {
    Error::TooLarge {
        component: to.to_string(),
        what: what.to_string(),
        size: size as u64,
        limit: limit as u64,
        by: MAX_PAYLOAD.to_string(),
    }
}

/// One ask, across its tries.
#[derive(Clone, Copy)]
struct Ask<'a> {
    to: &'a str,
    started: Instant,
    deadline: Instant,
}

impl Ask<'_> {
    /// `timeout`: its deadline passed.
    fn timed_out(&self) -> Error {
        let budget = self.deadline.saturating_duration_since(self.started);
        Error::past_budget(self.to, budget, self.started.elapsed())
    }

    /// Its outcome, from the answer that came from `host` (`?` before an ack named it).
    fn answered(&self, host: &str, answer: &Message) -> Result<Reply, Error> {
        // A reply that comes in once the deadline has passed is too late.
        if Instant::now() >= self.deadline {
            return Err(self.timed_out());
        }
        if answer.status == Some(StatusCode::NO_RESPONDERS) {
            return Err(Error::NotFound {
                name: self.to.to_string(),
            });
        }
        wire::parse_reply(self.to, host, answer.headers.as_ref(), &answer.payload)
    }
}

/// An ask's place in the pending table, taken out when the ask ends (or is dropped).
struct Waiting<'a> {
    pending: &'a Pending,
    seq: u64,
}

impl<'a> Waiting<'a> {
    fn new(pending: &'a Pending, seq: u64, waiting: oneshot::Sender<Inbound>) -> Self {
        if let Ok(mut p) = pending.lock() {
            p.insert(seq, waiting);
        }
        Waiting { pending, seq }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&self.seq);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hosts(table: &[(&str, Duration, bool, &[&str])]) -> Hosts {
        let hosts = Hosts::default();
        if let Ok(mut seen) = hosts.seen.write() {
            for (host, silent, gone, exports) in table {
                seen.insert(
                    host.to_string(),
                    Seen {
                        last: Instant::now() - *silent,
                        gone: *gone,
                        exports: exports
                            .iter()
                            .map(|e| Export::new("L", host, e.to_string()))
                            .collect(),
                    },
                );
            }
        }
        hosts
    }

    fn routes(hosts: &Hosts, name: &str) -> Vec<String> {
        let mut picked: Vec<String> = (0..6)
            .filter_map(|pick| {
                hosts
                    .route("L", name, wire::ASK, pick)
                    .map(|s| s.to_string())
            })
            .collect();
        picked.sort();
        picked.dedup();
        picked
    }

    #[test]
    fn asks_go_round_the_live_hosts_that_announce_the_name_by_their_own_subjects() {
        let hosts = hosts(&[
            ("a", Duration::from_secs(3), false, &["echo", "other"]),
            ("b", Duration::ZERO, false, &["echo"]),
            ("c", Duration::from_millis(700), false, &["echo", "other"]),
            ("d", Duration::ZERO, false, &["unrelated"]),
        ]);
        assert_eq!(
            routes(&hosts, "echo"),
            ["airssys.v2.L.d.b.echo.ask", "airssys.v2.L.d.c.echo.ask"],
            "both live replicas, never a (silent 3 s) nor d"
        );
        assert_eq!(routes(&hosts, "other"), ["airssys.v2.L.d.c.other.ask"]);
        assert_eq!(
            hosts
                .route("L", "echo", wire::SEND, 0)
                .map(|s| s.ends_with(".send")),
            Some(true)
        );
    }

    #[test]
    fn with_no_live_host_announcing_the_name_the_queue_group_chooses() {
        let hosts = hosts(&[
            ("a", Duration::from_secs(3), false, &["echo"]),
            ("b", Duration::ZERO, true, &["echo"]),
            ("c", Duration::ZERO, false, &["other"]),
        ]);
        assert!(routes(&hosts, "echo").is_empty(), "a silent, b gone");
        assert!(
            routes(&Hosts::default(), "echo").is_empty(),
            "none heard yet"
        );
    }
}
