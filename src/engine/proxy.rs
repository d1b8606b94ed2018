//! Serving one HTTP request with a `wasi:http/proxy` component, the manifest's fuel and
//! deadline per request: on a fresh instance (from the pooling allocator) per request, or,
//! with `[http] instance = "reuse"`, on an idle instance of a [`ProxyPool`] (a new one
//! while fewer than `concurrency` exist). A reused instance that crashes is dropped, and
//! the pool's owner is told, to count it as a restart.
//!
//! The guest's `handle` runs on the caller's task until it first waits, then on a task of
//! its own: it sets the response head (a oneshot the caller awaits) and may go on writing
//! the body after that. The body handed to hyper ([`ResponseBody`]) ends only once the
//! run has told how the call ended: if the guest
//! crashed after the head, the body fails instead of ending, so hyper aborts the connection and the client
//! never takes a cut body for a whole one (a dropped store alone would end it cleanly).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::Proxy;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::engine::executor::{
    Waited, arm, call_failure, fuel_used, run_here_first, timeout, with_deadline,
};
use crate::engine::loader::LoadedComponent;
use crate::error::{Error, ErrorKind};
use crate::store::{Router, StoreData};

/// A proxy component's response: its head, and its body as the guest writes it.
pub type ProxyResponse = hyper::Response<ResponseBody>;

/// How a request to a proxy component ended, for the body and the metrics.
type Outcome = Result<(), Error>;

/// The idle instances of a `reuse` proxy component, all of its current version.
pub(crate) struct ProxyPool {
    idle: std::sync::Mutex<Vec<(Store<StoreData>, Proxy)>>,
    /// The version whose instances may go back to the pool (`None`: the first one seen).
    version: std::sync::Mutex<Option<std::sync::Weak<LoadedComponent>>>,
    /// Told of a reused instance's crash (the component's actor restarts, under its
    /// supervisor's intensity).
    on_crash: Box<dyn Fn(&Error) + Send + Sync>,
}

impl ProxyPool {
    /// An empty pool; `on_crash` is told of each crash of one of its instances.
    pub(crate) fn new(on_crash: impl Fn(&Error) + Send + Sync + 'static) -> ProxyPool {
        ProxyPool {
            idle: std::sync::Mutex::default(),
            version: std::sync::Mutex::default(),
            on_crash: Box::new(on_crash),
        }
    }

    /// A new version came: the idle instances go, and instances of older versions still
    /// serving are dropped when they end instead of coming back.
    pub(crate) fn set_version(&self, loaded: &Arc<LoadedComponent>) {
        if let Ok(mut version) = self.version.lock() {
            *version = Some(Arc::downgrade(loaded));
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Whether instances of `loaded` may serve again.
    fn is_current(&self, loaded: &Arc<LoadedComponent>) -> bool {
        match self.version.lock() {
            Ok(version) => version
                .as_ref()
                .is_none_or(|v| std::ptr::eq(v.as_ptr(), Arc::as_ptr(loaded))),
            Err(_) => false,
        }
    }

    fn take(&self) -> Option<(Store<StoreData>, Proxy)> {
        self.idle.lock().ok()?.pop()
    }

    fn put(&self, store: Store<StoreData>, proxy: Proxy) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((store, proxy));
        }
    }
}

impl LoadedComponent {
    /// Serves `request` with a fresh instance of this `wasi:http/proxy` component.
    ///
    /// The request must have an authority or a `Host` header. Returns once the guest has
    /// set the response head; its body follows as the guest writes it.
    ///
    /// # Errors
    ///
    /// `component` when it does not export `wasi:http/incoming-handler`; `trap`, `fuel`,
    /// `timeout`, `memory` when the request crashed its instance before the head;
    /// `handler` when the guest returned without setting a response, or set an error.
    ///
    /// `hold` is kept until the request's instance is done (its body written or cut): a
    /// permit of the caller's concurrency limit, say.
    pub(crate) async fn serve_request<B>(
        self: &Arc<Self>,
        request: hyper::Request<B>,
        router: Option<Arc<dyn Router>>,
        pool: Option<Arc<ProxyPool>>,
        hold: impl Send + 'static,
    ) -> Result<ProxyResponse, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Some(pre) = &self.code.proxy else {
            return Err(Error::Component {
                component: self.name.to_string(),
                path: self.manifest.component.wasm.clone(),
                reason: "it does not export `wasi:http/incoming-handler`: route to it as a message component".into(),
                cause: None,
            });
        };
        let (mut store, reused) = match pool.as_ref().and_then(|pool| pool.take()) {
            Some((store, proxy)) => (store, Some(proxy)),
            None => (self.new_store(router)?, None),
        };
        let started = arm(self, &mut store);
        let deadline = store.data().deadline;
        let (head_tx, head_rx) = oneshot::channel();
        let host_error = |e: wasmtime::Error| Error::Component {
            component: self.name.to_string(),
            path: self.manifest.component.wasm.clone(),
            reason: "cannot hand it the request".into(),
            cause: Some(e.into()),
        };
        let mut http = store.data_mut().http();
        let incoming = http
            .new_incoming_request(Scheme::Http, request)
            .map_err(host_error)?;
        // Whether the guest set a response, and whether it was one (a `handle` that returns
        // without one, or sets an error code instead, failed: counted as `handler`).
        let answered = Arc::new(AtomicU8::new(NOT_ANSWERED));
        let outparam = {
            let answered = answered.clone();
            http.new_response_outparam_from_callback(move |head| {
                let how = if head.is_ok() { RESPONDED } else { ERROR_CODE };
                answered.store(how, Ordering::Release);
                let _ = head_tx.send(head);
            })
        }
        .map_err(host_error)?;
        let (done_tx, done_rx) = oneshot::channel::<Outcome>();
        let loaded = self.clone();
        let pre = pre.clone();
        // The instance's whole run, boxed so that it can move to a task of its own.
        let run = Box::pin(async move {
            let run = async {
                let proxy = match reused {
                    Some(proxy) => proxy,
                    None => pre.instantiate_async(&mut store).await?,
                };
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
                    .map(|()| proxy)
            };
            let waited = with_deadline(run, deadline, None).await;
            let elapsed = started.elapsed();
            let fuel = fuel_used(&loaded, &store);
            let mut kept = None;
            let outcome = match waited {
                Waited::Done(Ok(proxy)) => {
                    kept = Some(proxy);
                    match answered.load(Ordering::Acquire) {
                        RESPONDED => Ok(()),
                        ERROR_CODE => Err(Error::Handler {
                            component: loaded.name.to_string(),
                            message: "it answered with an error code instead of a response".into(),
                        }),
                        _ => Err(no_response(&loaded)),
                    }
                }
                Waited::Done(Err(e)) => Err(call_failure(&loaded, &mut store, e, elapsed)),
                Waited::TimedOut | Waited::Stopped => Err(timeout(&loaded, elapsed)),
            };
            let kind = outcome.as_ref().err().map(Error::kind);
            loaded.metrics.record(kind, fuel, elapsed);
            if let Err(error) = &outcome {
                tracing::debug!(component = %loaded.name, %error, "request failed");
            }
            if let (Some(pool), None, Err(error)) = (&pool, &kept, &outcome) {
                (pool.on_crash)(error);
            }
            // An instance that served (even without a response) serves again, if it is of
            // the current version: back in the pool before the response ends, so the
            // client's next request finds it. Any other store is dropped after the outcome
            // is told: the response's last frame waits for the outcome, and giving the
            // instance's memory back need not delay it (a body still open in the store
            // ends when the store goes, and then reads the outcome).
            match (&pool, kept) {
                (Some(pool), Some(proxy)) if pool.is_current(&loaded) => {
                    pool.put(store, proxy);
                    let _ = done_tx.send(outcome);
                }
                _ => {
                    let _ = done_tx.send(outcome);
                    drop(store);
                }
            }
            // The request's place at the gate is given back once its instance is gone, so
            // the gate bounds live instances too.
            drop(hold);
        });
        // Polled once on the caller's task: a guest that answers and ends without waiting
        // (most do) runs there, without a task hop. One that waits (for its body to be read,
        // a host call, its fuel's yield) moves to a task of its own, so it runs on when
        // this request's caller goes away, as it would have from the start.
        run_here_first(run).await;
        match head_rx.await {
            Ok(Ok(response)) => Ok(response.map(|body| ResponseBody {
                inner: body,
                done: Some(done_rx),
                held: None,
            })),
            Ok(Err(code)) => Err(Error::Handler {
                component: self.name.to_string(),
                message: format!("it answered with the error {code:?}"),
            }),
            // No head: the guest ended without setting one, or crashed first.
            Err(_) => match done_rx.await {
                Ok(Err(error)) => Err(error),
                _ => Err(no_response(self)),
            },
        }
    }
}

/// How a guest answered: not yet, with a response, or with an error code.
const NOT_ANSWERED: u8 = 0;
const RESPONDED: u8 = 1;
const ERROR_CODE: u8 = 2;

impl LoadedComponent {
    /// Instantiates the proxy world once and drops the instance: the check an upgrade
    /// makes before a new version serves.
    ///
    /// # Errors
    ///
    /// The instantiation's failure (`trap`, `fuel`, `timeout`, `memory`, `component`).
    pub(crate) async fn check_proxy(
        self: &Arc<Self>,
        router: Option<Arc<dyn Router>>,
    ) -> Result<(), Error> {
        let Some(pre) = &self.code.proxy else {
            return Ok(());
        };
        let mut store = self.new_store(router)?;
        let started = arm(self, &mut store);
        let deadline = store.data().deadline;
        match with_deadline(pre.instantiate_async(&mut store), deadline, None).await {
            Waited::Done(Ok(_)) => Ok(()),
            Waited::Done(Err(e)) => Err(self.start_error(&mut store, e, started.elapsed())),
            Waited::TimedOut | Waited::Stopped => Err(timeout(self, started.elapsed())),
        }
    }
}

fn no_response(loaded: &LoadedComponent) -> Error {
    Error::Handler {
        component: loaded.name.to_string(),
        message: "it returned without setting a response".into(),
    }
}

/// The body of a proxy component's response: the guest's, failing instead of ending when
/// the request crashed its instance after the head.
pub struct ResponseBody {
    inner: HyperOutgoingBody,
    done: Option<oneshot::Receiver<Outcome>>,
    /// Kept until the body has ended (or is dropped): the server's count of the requests
    /// still being answered, say.
    held: Option<Box<dyn Send + Sync>>,
}

impl ResponseBody {
    /// Keeps `held` until this body has ended, failed or been dropped.
    pub(crate) fn hold_until_end(&mut self, held: impl Send + Sync + 'static) {
        self.held = Some(Box::new(held));
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

/// Why a response body was cut: the kind of the crash.
#[derive(Debug, thiserror::Error)]
#[error("the component crashed after the response head ({kind}): {reason}")]
pub struct BodyCut {
    /// The crash's kind.
    pub kind: ErrorKind,
    /// The crash, in words.
    pub reason: String,
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyCut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyCut>>> {
        let this = &mut *self;
        if let Some(frame) = ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            if frame.is_err() {
                this.held = None;
            }
            return Poll::Ready(Some(frame.map_err(|e| BodyCut {
                kind: ErrorKind::Trap,
                reason: e.to_string(),
            })));
        }
        // The guest's body ended: whole only if its call ended well.
        let Some(done) = this.done.as_mut() else {
            this.held = None;
            return Poll::Ready(None);
        };
        let outcome = ready!(Pin::new(done).poll(cx));
        this.done = None;
        this.held = None;
        match outcome {
            Ok(Ok(())) => Poll::Ready(None),
            Ok(Err(error)) => Poll::Ready(Some(Err(BodyCut {
                kind: error.kind(),
                reason: error.to_string(),
            }))),
            Err(_) => Poll::Ready(Some(Err(BodyCut {
                kind: ErrorKind::Stopped,
                reason: "the request's task ended without an outcome".into(),
            }))),
        }
    }
}
