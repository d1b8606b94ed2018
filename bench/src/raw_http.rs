//! The raw baseline of the HTTP rows: a minimal hyper 1 server over wasmtime-wasi-http's
//! `ProxyPre`, on an engine with our settings, one fresh instance per request: what a user
//! would write by hand with wasmtime alone (the shape of `wasmtime serve` without its
//! component-model-async handler, which our engines turn off).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::Result;
use crate::raw::{stop_at_deadline, within};

/// Store data: WASI and wasi:http over one table, and the request's deadline.
pub struct RawHttpState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    deadline: Instant,
}

impl WasiView for RawHttpState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RawHttpState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// Serves `wasm` on a free loopback port; returns the address. Each request gets a fresh
/// store with `fuel` and `time`, as ours does.
///
/// # Errors
///
/// wasmtime's, or when the port cannot be bound.
pub async fn serve(
    engine: Engine,
    wasm: &std::path::Path,
    fuel: u64,
    time: Duration,
) -> Result<SocketAddr> {
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let component = Component::from_file(&engine, wasm)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let shared = Arc::new((engine, pre));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let shared = shared.clone();
                    async move {
                        Ok::<_, Infallible>(handle(&shared.0, &shared.1, request, fuel, time).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

type Body =
    http_body_util::Either<wasmtime_wasi_http::p2::body::HyperOutgoingBody, Full<bytes::Bytes>>;

async fn handle(
    engine: &Engine,
    pre: &ProxyPre<RawHttpState>,
    request: hyper::Request<hyper::body::Incoming>,
    fuel: u64,
    time: Duration,
) -> hyper::Response<Body> {
    let failed = || {
        let mut response = hyper::Response::new(Body::Right(Full::default()));
        *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        response
    };
    let state = RawHttpState {
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        deadline: Instant::now() + time,
    };
    let mut store = Store::new(engine, state);
    let _ = store.set_fuel(fuel);
    let _ = stop_at_deadline(&mut store, |state| state.deadline);
    let deadline = store.data().deadline;
    let (tx, rx) = oneshot::channel();
    let request = request.map(|body| body.map_err(wasmtime_wasi_http::Error::from));
    let (Ok(incoming), Ok(outparam)) = (
        store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request),
        store.data_mut().http().new_response_outparam(tx),
    ) else {
        return failed();
    };
    let pre = pre.clone();
    tokio::spawn(async move {
        let run = async {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await
        };
        within(deadline, run).await
    });
    match rx.await {
        Ok(Ok(response)) => response.map(Body::Left),
        _ => failed(),
    }
}
