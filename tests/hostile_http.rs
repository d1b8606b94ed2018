//! Hostile HTTP clients against `airssys-wasm serve` (a child process, real sockets on
//! loopback): 10,000 connections opened and held (fewer where the open-file limit is lower), slowloris heads trickled byte by
//! byte, a huge head, a body over the limit (declared, and sent slowly), malformed
//! requests. Throughout, a well-behaved client is served, the process stays up and its
//! memory stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airssys_wasm_test_support::{SMALL, Served, TempDir, get, manifest_for, request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_airssys-wasm");

/// Connections the hostile clients open and hold: 10,000, or as many as this process's
/// open-file limit leaves room for (with a margin for everything else it opens).
fn held_target() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|l| l.starts_with("Max open files"))?
                .to_string();
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(1024);
    10_000.min(soft.saturating_sub(300))
}

/// The server's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// Sends `bytes` on a new connection and reads what comes back until the server closes
/// it or `limit` passes.
async fn raw(address: SocketAddr, bytes: &[u8], limit: Duration) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let _ = stream.write_all(bytes).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_neither_stop_the_host_nor_keep_a_well_behaved_client_out() {
    let dir = TempDir::new();
    manifest_for(&dir, "echo", "echo", SMALL, "");
    let file = dir.write(
        "host.toml",
        "[components]\necho = \"echo.toml\"\n\n[supervisors.app]\nchildren = [\"echo\"]\n\n\
         [http]\nlisten = \"127.0.0.1:0\"\nmax_request_body = \"1KiB\"\nmax_connections = 256\n\n\
         [[http.route]]\npath = \"/echo\"\ncomponent = \"echo\"\n",
    );
    let mut served = Served::start(BIN, &file);
    let http = served.ready().http.unwrap();
    let rss_before = rss_kib(served.id());

    // A well-behaved client, one request on a new connection every 20 ms, all the time.
    let storm = Arc::new(AtomicBool::new(true));
    let good = {
        let storm = storm.clone();
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut served = 0;
            while storm.load(Ordering::SeqCst) {
                let started = Instant::now();
                let reply = request(http, "POST", "/echo", "still served").await;
                assert_eq!((reply.status, reply.text().as_str()), (200, "still served"));
                slowest = slowest.max(started.elapsed());
                served += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (served, slowest)
        })
    };

    let t0 = Instant::now();
    // Held: connections that send nothing.
    let target = held_target();
    let mut held = Vec::with_capacity(target);
    let connects = futures_in_batches(target, 1000, move || async move {
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(http))
            .await
            .ok()
            .and_then(Result::ok)
    })
    .await;
    held.extend(connects.into_iter().flatten());
    eprintln!("held {} connections after {:?}", held.len(), t0.elapsed());
    assert!(
        held.len() >= target / 2,
        "only {} of {target} connections opened",
        held.len()
    );

    // Slowloris: heads trickled a byte every 100 ms.
    let mut slow = Vec::new();
    for _ in 0..100 {
        slow.push(tokio::spawn(async move {
            let Ok(mut stream) = TcpStream::connect(http).await else {
                return;
            };
            for byte in b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa" {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    // A huge head: refused, not buffered.
    let huge = format!(
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n",
        "h".repeat(200 * 1024)
    );
    let answer = raw(http, huge.as_bytes(), Duration::from_secs(10)).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:.80}"
    );
    // A body declared over the limit: 413 at once.
    let answer = raw(
        http,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nabc",
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.80}");
    // A chunked body sent slowly past the limit: 413 once it is over.
    let mut stream = TcpStream::connect(http).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("100\r\n{}\r\n", "b".repeat(256));
    let mut answer = vec![0; 64];
    let mut got = 0;
    for _ in 0..20 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut answer)).await
        {
            got = n;
            break;
        }
    }
    if got == 0 {
        got = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
            .await
            .unwrap()
            .unwrap_or(0);
    }
    let answer = String::from_utf8_lossy(&answer[..got]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    // Malformed requests: 400, the connection closed.
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ] {
        let answer = raw(http, garbage, Duration::from_secs(10)).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
            "{answer:.80}"
        );
    }

    eprintln!("probes done after {:?}", t0.elapsed());
    // Let the storm go on a little while the good client keeps asking.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_during = rss_kib(served.id());
    storm.store(false, Ordering::SeqCst);
    let (requests, slowest) = tokio::time::timeout(Duration::from_secs(30), good)
        .await
        .expect("the well-behaved client finished")
        .unwrap();
    eprintln!(
        "good client: {requests} requests, slowest {slowest:?}; rss {rss_before} -> {rss_during} KiB"
    );
    assert!(
        requests >= 20,
        "the well-behaved client was served {requests} times"
    );
    assert!(
        slowest < Duration::from_secs(10),
        "its slowest request took {slowest:?}"
    );
    assert!(
        rss_during < rss_before + 256 * 1024,
        "memory grew from {rss_before} KiB to {rss_during} KiB"
    );
    drop(held);
    for task in slow {
        task.abort();
    }
    assert_eq!(
        get(http, "/echo").await.status,
        200,
        "still serving after the storm"
    );
    served.signal("TERM");
    assert_eq!(served.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

/// Runs `count` futures made by `make`, at most `batch` at a time; their outputs in order.
async fn futures_in_batches<F, Fut, T>(count: usize, batch: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut out = Vec::with_capacity(count);
    let mut left = count;
    while left > 0 {
        let n = left.min(batch);
        let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        left -= n;
    }
    out
}
