//! One accept loop for the host's HTTP listeners (hyper 1's HTTP/1 connections on tokio).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
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
    let mut connections = JoinSet::new();
    loop {
        // Past `max_connections`, new connections wait in the kernel's listen queue.
        let permit = tokio::select! {
            permit = room.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stop_sent(&mut stopped) => break,
        };
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
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let reply = handler(request);
                async move { Ok::<_, Infallible>(reply.await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let outcome = tokio::select! {
                outcome = connection.as_mut() => outcome,
                () = stop_sent(&mut stopped) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}
