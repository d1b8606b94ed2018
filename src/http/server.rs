//! One accept loop for the host's HTTP listeners (hyper 1's HTTP/1 connections on tokio).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::HttpError;
use crate::engine::ResponseBody;

/// A response of the host's servers: a body in memory, or a proxy component's as it
/// writes it.
pub(crate) type Reply = Response<Either<Full<Bytes>, ResponseBody>>;

/// How long a client may take to send a request's head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request head (and read buffer) of a connection; a larger head gets 431.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// How long a new connection has to send its first request head before it may be dropped
/// for another one (when every slot is taken).
const GRACE: Duration = Duration::from_millis(250);

/// The connections that have not sent a whole request head yet, oldest first, each with
/// when it opened and the signal that drops it. When every slot is taken, the oldest of
/// them is dropped for the new connection once it has had [`GRACE`] to send its head: a
/// client that opens connections and sends nothing (or trickles its head) cannot keep a
/// well-behaved one out, a connection whose head is on its way is not cut, and a
/// kept-alive connection that has been served keeps its slot (new connections wait for it,
/// as `max_connections` says).
#[derive(Default)]
struct Unserved {
    next: std::sync::atomic::AtomicU64,
    waiting: std::sync::Mutex<std::collections::BTreeMap<u64, (std::time::Instant, Arc<Signal>)>>,
}

/// What a connection's task is told from outside: [`STOP`] or [`DROP`]. Read with an
/// atomic load and a waker registration each time the task is woken (several times a
/// request): a `Notify` or a `watch` would take a lock on each of those polls.
#[derive(Default)]
struct Signal {
    raised: AtomicU8,
    waker: AtomicWaker,
}

/// The listener stops: the connection finishes the request it is serving, then closes.
const STOP: u8 = 1;
/// Its slot is wanted: dropped if it has not been served yet.
const DROP: u8 = 2;

impl Signal {
    fn raise(&self, what: u8) {
        self.raised.fetch_or(what, Ordering::AcqRel);
        self.waker.wake();
    }

    /// What was raised since it last resolved.
    fn raised(&self) -> impl Future<Output = u8> + '_ {
        std::future::poll_fn(|cx| {
            if self.raised.load(Ordering::Acquire) == 0 {
                self.waker.register(cx.waker());
                if self.raised.load(Ordering::Acquire) == 0 {
                    return Poll::Pending;
                }
            }
            Poll::Ready(self.raised.swap(0, Ordering::AcqRel))
        })
    }
}

/// What [`Unserved::drop_oldest`] did.
enum Dropped {
    /// It dropped one: a slot is on its way.
    One,
    /// The oldest may be dropped after this long.
    NotBefore(Duration),
    /// None waits: every slot is a served connection.
    None,
}

impl Unserved {
    fn add(&self, signal: Arc<Signal>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id, (std::time::Instant::now(), signal));
        }
        id
    }

    fn served(&self, id: u64) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(&id);
        }
    }

    /// Drops the oldest connection not served yet, if it has had its [`GRACE`].
    fn drop_oldest(&self) -> Dropped {
        let Ok(mut waiting) = self.waiting.lock() else {
            return Dropped::None;
        };
        let Some(oldest) = waiting.first_entry() else {
            return Dropped::None;
        };
        let age = oldest.get().0.elapsed();
        if age < GRACE {
            return Dropped::NotBefore(GRACE - age);
        }
        oldest.remove().1.raise(DROP);
        Dropped::One
    }
}

/// A listener serving connections on a task of its own until [`Listener::stop`].
#[derive(Debug)]
pub(crate) struct Listener {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Binds `address` and serves each connection with `handler`, at most
    /// `max_connections` at once.
    pub(crate) async fn start<H, F>(
        key: &'static str,
        address: SocketAddr,
        max_connections: usize,
        handler: H,
    ) -> Result<Listener, HttpError>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Reply> + Send + 'static,
    {
        let bind_error = |source| HttpError::Bind {
            key,
            address,
            source,
        };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept(listener, max_connections.max(1), handler, stopped));
        Ok(Listener {
            address: bound,
            stop,
            task,
        })
    }

    /// The address it listens on (the port chosen, for port 0).
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets each connection finish its request, and waits for them up to
    /// `within`; connections still open then are dropped.
    pub(crate) async fn stop(self, within: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(within, &mut task).await.is_err() {
            task.abort();
            tracing::warn!(address = %self.address, "connections still open at the stop; closed");
        }
    }
}

/// Resolves once a stop is sent (or the listener is gone).
async fn stop_sent(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn accept<H, F>(
    listener: TcpListener,
    max_connections: usize,
    handler: H,
    mut stopped: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let room = Arc::new(Semaphore::new(max_connections));
    let unserved = Arc::new(Unserved::default());
    let mut connections = JoinSet::new();
    // Each connection's signal, to tell them all of the stop (pruned as they end).
    let mut signals: Vec<Weak<Signal>> = Vec::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop_sent(&mut stopped) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors or a connection reset before it was taken:
                // wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Past `max_connections`, this connection waits (and the next ones in the kernel's
        // listen queue) for a slot, which a connection never served gives up first.
        let permit = loop {
            if let Ok(permit) = room.clone().try_acquire_owned() {
                break Some(permit);
            }
            let retry = match unserved.drop_oldest() {
                Dropped::One => {
                    tracing::debug!("all connections taken: dropped the oldest one not yet served");
                    None
                }
                Dropped::NotBefore(after) => Some(after),
                Dropped::None => None,
            };
            tokio::select! {
                permit = room.clone().acquire_owned() => break permit.ok(),
                () = async {
                    match retry {
                        Some(after) => tokio::time::sleep(after).await,
                        None => std::future::pending().await,
                    }
                } => continue,
                () = stop_sent(&mut stopped) => break None,
            }
        };
        let Some(permit) = permit else {
            break;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let unserved = unserved.clone();
        let signal = Arc::new(Signal::default());
        if signals.len() > 2 * connections.len() + 16 {
            signals.retain(|s| s.strong_count() > 0);
        }
        signals.push(Arc::downgrade(&signal));
        let id = unserved.add(signal.clone());
        connections.spawn(async move {
            let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let service = {
                let (unserved, started) = (unserved.clone(), started.clone());
                service_fn(move |request| {
                    // Its first request takes it off the list of connections never served.
                    if !started.swap(true, Ordering::Relaxed) {
                        unserved.served(id);
                    }
                    let reply = handler(request);
                    async move { Ok::<_, Infallible>(reply.await) }
                })
            };
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_BUF_SIZE)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let never_served = || !started.load(Ordering::Relaxed);
            let outcome = loop {
                tokio::select! {
                    biased;
                    outcome = connection.as_mut() => break outcome,
                    raised = signal.raised() => {
                        if raised & STOP != 0 {
                            connection.as_mut().graceful_shutdown();
                            break connection.await;
                        }
                        // Never served, and its slot wanted: dropped. The check runs on
                        // this task, which also starts requests, so no request is ever cut.
                        if never_served() {
                            break Ok(());
                        }
                    }
                }
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            unserved.served(id);
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    for signal in signals.iter().filter_map(Weak::upgrade) {
        signal.raise(STOP);
    }
    while connections.join_next().await.is_some() {}
}
