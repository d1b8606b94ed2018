//! The lattice: several hosts over NATS serving each other's components by name
//! (contract section 8).
//!
//! A host joins with [`Lattice::join`]: two NATS connections (data: requests and replies;
//! control: announcements, so heartbeats flow under load), an ingress (`ingress.rs`) serving its
//! exported components, a caller (`caller.rs`) for names it does not run, set as the host's
//! [`Remote`] so that `Host::ask`, the components' `messaging`
//! imports and the HTTP routes reach a component on any host, a live local one first.
//! [`LatticeClient`] is a caller without components (`airssys-wasm ask`). What crosses the
//! wire is in `wire.rs`.
//!
//! Delivery is core NATS: at most once. What makes it safe to use:
//! - no responders (no host serves the name) is `not-found`, at once;
//! - a message or reply past the server's `max_payload` is `too-large`, never a timeout
//!   (the callee answers a reply that cannot travel with a small `too-large`);
//! - the caller's remaining time goes with the request and bounds the run there;
//! - the callee acks a request it has not answered within 25 ms; a host that then leaves
//!   (`gone`) or stops announcing itself for [`LAPSE`] has its requests ended `stopped`,
//!   and a request neither answered nor acked within 2 s was lost with its host
//!   (`stopped`);
//! - nothing is retried: a request that may have run is never run twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::Client;
use futures_util::StreamExt;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::engine::executor::Reply;
use crate::error::Error;
use crate::host::{Host, Remote, RemoteReply};
use crate::imports::ComponentMessage;
use crate::manifest::LatticeSettings;

pub use error::LatticeError;

mod caller;
mod connect;
mod error;
mod ingress;
mod wire;

use caller::Caller;
use connect::Attempt;
use ingress::Ingress;

/// How often a host announces itself.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a host may be silent before the requests it took end `stopped`.
pub const LAPSE: Duration = Duration::from_secs(2);
/// The deadline of a request that comes without one ([`Host::ask`]).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// How long to wait between attempts to reach the servers.
const RETRY: Duration = Duration::from_secs(1);

/// A host's membership of a lattice. Cheap to clone.
#[derive(Clone)]
pub struct Lattice {
    inner: Arc<Membership>,
}

impl std::fmt::Debug for Lattice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lattice")
            .field("name", &self.inner.settings.name)
            .field("id", &self.inner.id)
            .field("joined", &self.is_joined())
            .finish_non_exhaustive()
    }
}

struct Membership {
    settings: LatticeSettings,
    id: String,
    host: Host,
    joined: AtomicBool,
    parts: Mutex<Option<Joined>>,
    joining: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// What a joined host runs.
struct Joined {
    data: Client,
    control: Client,
    ingress: Arc<Ingress>,
    heartbeat: JoinHandle<()>,
}

impl Drop for Joined {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

impl Lattice {
    /// Joins `host` to the lattice of `settings` as `host_name`: connects, serves the
    /// exported components and sends what this host does not run to the others. When the
    /// servers cannot be reached, it returns at once and keeps trying in the background
    /// (see [`Lattice::is_joined`]); the host serves its own components meanwhile.
    ///
    /// # Errors
    ///
    /// When retrying cannot help: a credentials or TLS file that cannot be read, or servers
    /// that refuse the host's credentials or TLS.
    pub async fn join(
        host: &Host,
        settings: &LatticeSettings,
        host_name: &str,
    ) -> Result<Lattice, LatticeError> {
        let id = format!("{host_name}_{}", unique());
        let lattice = Lattice {
            inner: Arc::new(Membership {
                settings: settings.clone(),
                id,
                host: host.clone(),
                joined: AtomicBool::new(false),
                parts: Mutex::new(None),
                joining: std::sync::Mutex::new(None),
            }),
        };
        let unreachable = match connect::attempt(settings, &lattice.inner.id, "data").await {
            Attempt::Connected(data) => match lattice.set_up(data).await {
                Ok(()) => None,
                // The control connection could not be made: as for the data one.
                Err(e @ LatticeError::Unreachable { .. }) => Some(e),
                Err(e) => return Err(e),
            },
            Attempt::Refused(e) => return Err(e),
            Attempt::Unreachable(e) => Some(e),
        };
        if let Some(e) = unreachable {
            tracing::warn!(error = %e, "lattice: servers unreachable; serving this host's components and retrying");
            let retry = lattice.clone();
            let task = tokio::spawn(async move { retry.keep_trying().await });
            if let Ok(mut joining) = lattice.inner.joining.lock() {
                *joining = Some(task);
            }
        }
        Ok(lattice)
    }

    async fn keep_trying(&self) {
        loop {
            tokio::time::sleep(RETRY).await;
            match connect::attempt(&self.inner.settings, &self.inner.id, "data").await {
                Attempt::Connected(data) => match self.set_up(data).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "lattice: cannot join; retrying"),
                },
                Attempt::Refused(e) => {
                    tracing::error!(error = %e, "lattice: refused; not retrying");
                    return;
                }
                Attempt::Unreachable(e) => {
                    tracing::debug!(error = %e, "lattice: still unreachable")
                }
            }
        }
    }

    /// Connects the control connection, serves, and becomes the host's remote.
    async fn set_up(&self, data: Client) -> Result<(), LatticeError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let control = match connect::attempt(settings, &inner.id, "control").await {
            Attempt::Connected(control) => control,
            Attempt::Refused(e) | Attempt::Unreachable(e) => return Err(e),
        };
        let caller =
            Arc::new(Caller::start(data.clone(), &control, &settings.name, &inner.id).await?);
        let ingress =
            Arc::new(Ingress::start(data.clone(), &inner.host, settings, &inner.id).await);
        let hello = wire::hello_subject(&settings.name);
        let mut hellos =
            control
                .subscribe(hello.clone())
                .await
                .map_err(|source| LatticeError::Subscribe {
                    lattice: settings.name.clone(),
                    subject: hello,
                    source,
                })?;
        let heartbeat = {
            let control = control.clone();
            // Its own handle on the ingress: no lock a drain holds can delay a heartbeat.
            let ingress = ingress.clone();
            let subject = wire::presence_subject(&settings.name, &inner.id, wire::Presence::Alive);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(HEARTBEAT);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    // Every heartbeat, and at once for a caller that just joined or when
                    // what it serves changed.
                    tokio::select! {
                        _ = tick.tick() => {}
                        Some(_) = hellos.next() => {}
                        () = ingress.changed() => {}
                    }
                    let exports = ingress.served().join(",");
                    let _ = control.publish(subject.clone(), exports.into()).await;
                }
            })
        };
        // Every subscription made on each connection is live once a message sent after
        // it on the same connection has come back.
        round_trip(&data).await;
        round_trip(&control).await;
        // The other hosts announce themselves now: this one's first asks know them.
        caller.hello(&control).await;
        inner
            .host
            .set_remote(Some(Arc::new(LatticeRemote { caller })));
        *inner.parts.lock().await = Some(Joined {
            data,
            control,
            ingress,
            heartbeat,
        });
        inner.joined.store(true, Ordering::SeqCst);
        tracing::info!(lattice = %settings.name, id = %inner.id, "joined the lattice");
        Ok(())
    }

    /// Whether the host has joined (connected and subscribed) and its connection is up.
    pub fn is_joined(&self) -> bool {
        self.inner.joined.load(Ordering::SeqCst)
            && self.inner.parts.try_lock().map_or(true, |parts| {
                parts.as_ref().is_some_and(|j| {
                    j.data.connection_state() == async_nats::connection::State::Connected
                })
            })
    }

    /// The host's id on the lattice: its name and a part unique to this process.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Stops taking requests from the lattice: once this returns, new ones go to the other
    /// hosts that serve the same components; those already delivered here are still
    /// answered. This host still reaches the others.
    pub async fn stop_taking(&self) {
        if let Ok(mut joining) = self.inner.joining.lock()
            && let Some(task) = joining.take()
        {
            task.abort();
        }
        if let Some(ingress) = self.ingress().await {
            ingress.stop_taking().await;
        }
    }

    /// The ingress, once joined (the lock released before anything is awaited on it).
    async fn ingress(&self) -> Option<Arc<Ingress>> {
        self.inner
            .parts
            .lock()
            .await
            .as_ref()
            .map(|joined| joined.ingress.clone())
    }

    /// [`Lattice::stop_taking`] (unless done already), then waits up to `limit` for the
    /// requests taken to be answered; whether they all were.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.stop_taking().await;
        match self.ingress().await {
            Some(ingress) => ingress.drain(limit).await,
            None => true,
        }
    }

    /// Leaves the lattice: announces it (callers still waiting on this host's answers get
    /// `stopped` at once), stops sending to other hosts, and closes the connections.
    pub async fn leave(&self) {
        self.inner.host.set_remote(None);
        self.inner.joined.store(false, Ordering::SeqCst);
        let Some(joined) = self.inner.parts.lock().await.take() else {
            return;
        };
        joined.heartbeat.abort();
        // The last replies reach the server before the announcement does.
        round_trip(&joined.data).await;
        let gone = wire::presence_subject(
            &self.inner.settings.name,
            &self.inner.id,
            wire::Presence::Gone,
        );
        let _ = joined.control.publish(gone, Default::default()).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), joined.control.flush()).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), joined.data.flush()).await;
        drop(joined);
        tracing::info!(lattice = %self.inner.settings.name, "left the lattice");
    }
}

/// Sends a message to a fresh inbox on `client` and waits (up to 5 s) for it.
pub(crate) async fn round_trip(client: &Client) {
    let inbox = client.new_inbox();
    let Ok(mut probe) = client.subscribe(inbox.clone()).await else {
        return;
    };
    if client.publish(inbox, Default::default()).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), probe.next()).await;
    }
}

/// A short id unique to this process.
fn unique() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// The host's way to the other hosts.
struct LatticeRemote {
    caller: Arc<Caller>,
}

impl Remote for LatticeRemote {
    fn ask(&self, to: &str, message: ComponentMessage, deadline: Option<Instant>) -> RemoteReply {
        let caller = self.caller.clone();
        let to = to.to_string();
        Box::pin(async move { caller.ask(&to, message, deadline).await })
    }

    fn tell(&self, to: &str, message: ComponentMessage) -> Result<(), Error> {
        self.caller.tell(to, message)
    }
}

/// A caller on a lattice that runs no components: what `airssys-wasm ask` uses.
pub struct LatticeClient {
    caller: Caller,
}

impl std::fmt::Debug for LatticeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatticeClient").finish_non_exhaustive()
    }
}

impl LatticeClient {
    /// Connects to the lattice `settings` name through its servers, with its credentials
    /// and TLS (`export` is not used: a client serves nothing).
    ///
    /// # Errors
    ///
    /// `Unreachable` when no server answers; `Refused` for credentials or TLS it refuses;
    /// `File` for a credentials or TLS file that cannot be read.
    pub async fn connect(settings: &LatticeSettings) -> Result<LatticeClient, LatticeError> {
        let lattice = settings.name.as_str();
        let id = format!("client_{}", unique());
        let client = match connect::attempt(settings, &id, "client").await {
            Attempt::Connected(client) => client,
            Attempt::Refused(e) | Attempt::Unreachable(e) => return Err(e),
        };
        let caller = Caller::start(client.clone(), &client, lattice, &id).await?;
        round_trip(&client).await;
        // Knowing the live hosts, its first ask goes to one of them, not to one the server
        // still counts in the queue group after it went silent.
        caller.warm_up(&client).await;
        Ok(LatticeClient { caller })
    }

    /// Asks the component `to`, wherever on the lattice it runs, within `timeout` (which
    /// bounds its run there too).
    ///
    /// # Errors
    ///
    /// The kinds the component's own host would give (`handler`, `trap`, ...);
    /// `not-found` when no host serves `to`; `too-large` past the servers' `max_payload`;
    /// `timeout` past `timeout`; `stopped` when the host that took it left.
    pub async fn ask(
        &self,
        to: &str,
        topic: &str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let message = ComponentMessage {
            topic: topic.to_string(),
            payload,
            sender: None,
        };
        self.caller
            .ask(to, message, Some(Instant::now() + timeout))
            .await
    }
}
