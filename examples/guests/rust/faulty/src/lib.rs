//! `faulty`: the misbehaving testbed. One topic per behaviour; a decimal
//! payload `N` parameterizes some of them.
//!
//! | topic        | behaviour                                                        |
//! |--------------|------------------------------------------------------------------|
//! | `ok`         | reply the payload unchanged                                      |
//! | `count`      | add 1 to an in-memory counter, reply it (proves restarts reset state) |
//! | `trap`       | `unreachable` instruction                                        |
//! | `panic`      | `panic!` (aborts: a trap)                                        |
//! | `spin`       | loop forever (fuel or timeout)                                   |
//! | `burn`       | `N` busy iterations, default 10^9 (exhausts fuel); reply `N`     |
//! | `grow`       | allocate and touch 1 MiB chunks forever, never freed (memory)   |
//! | `alloc`      | allocate exactly `N` bytes, touch each page, free; reply `ok`    |
//! | `recurse`    | non-tail recursion `N` deep, default 10^7 (stack overflow); reply `N` |
//! | `error`      | `err("faulty returned an error on purpose")`                     |
//! | `sleep`      | `std::thread::sleep(N ms)`, blocking in a WASI call; reply `slept` |
//! | `config`     | payload is a key: reply its value, or `err("no config key <key>")` |
//! | `config-all` | reply every pair as `k=v\n`, sorted                              |
//! | `log`        | log the payload at info level; reply `logged`                    |
//! | `request`    | payload `TARGET TOPIC BODY...`: `messaging::request`, result passed through |
//! | `send`       | same payload: `messaging::send`; reply `sent` or the error       |
//! | `sender`     | reply the sender's name, or `none`                               |
//! | `big`        | reply `N` bytes of `x` (costs about `N` fuel: `memory.fill` is metered per byte) |
//! | `log-flood`  | log `N` lines in a tight loop, default forever; reply `logged N`  |
//! | `host-spin`  | log one `N`-byte line (default 4 MiB) over and over, forever: each call costs the host far more time than the guest fuel |
//! | `send-flood` | payload `N TARGET TOPIC BODY...`: `send` it `N` times without pause; reply `sent=S refused=R` and the first refusal on the next line |
//!
//! Anything else is `err("unknown topic: ...")`. A bad number is an `err`
//! naming the input.
//!
//! Used by the supervision and limits tests (trap, fuel, timeout, memory,
//! stack, restart), the capability tests (config, messaging, denied) and the
//! CLI exit-status tests.

wit_bindgen::generate!({ path: "../../../../wit", world: "component" });

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airssys::component::logging::{self, Level};
use airssys::component::types::Message;
use airssys::component::{config, messaging};
use exports::airssys::component::handler::Guest;

const MIB: usize = 1 << 20;

static COUNT: AtomicU64 = AtomicU64::new(0);

struct Faulty;

impl Guest for Faulty {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        let payload = msg.payload;
        let reply = |s: &str| Ok(s.as_bytes().to_vec());
        match msg.topic.as_str() {
            "ok" => Ok(payload),
            "count" => reply(&(COUNT.fetch_add(1, Ordering::Relaxed) + 1).to_string()),
            "trap" => core::arch::wasm32::unreachable(),
            "panic" => panic!("faulty panicked on purpose"),
            "spin" => spin(),
            "burn" => {
                let n = number(&payload, Some(1_000_000_000))?;
                burn(n);
                reply(&n.to_string())
            }
            "grow" => grow(),
            "alloc" => {
                let n = usize::try_from(number(&payload, None)?)
                    .map_err(|_| "alloc: size too large".to_string())?;
                drop(touched(n));
                reply("ok")
            }
            "recurse" => {
                let n = number(&payload, Some(10_000_000))?;
                reply(&recurse(n).to_string())
            }
            "error" => Err("faulty returned an error on purpose".to_string()),
            "sleep" => {
                std::thread::sleep(Duration::from_millis(number(&payload, None)?));
                reply("slept")
            }
            "config" => {
                let key = String::from_utf8_lossy(&payload);
                config::get(&key)
                    .map(String::into_bytes)
                    .ok_or_else(|| format!("no config key {key}"))
            }
            "config-all" => {
                let mut pairs = config::get_all();
                pairs.sort();
                let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                Ok(text.into_bytes())
            }
            "log" => {
                logging::log(Level::Info, &String::from_utf8_lossy(&payload));
                reply("logged")
            }
            "request" => {
                let (to, topic, body) = target_topic_body(&payload)?;
                messaging::request(&to, &topic, body)
            }
            "send" => {
                let (to, topic, body) = target_topic_body(&payload)?;
                messaging::send(&to, &topic, body)?;
                reply("sent")
            }
            "sender" => Ok(msg.sender.unwrap_or_else(|| "none".into()).into_bytes()),
            "big" => {
                let n = usize::try_from(number(&payload, None)?)
                    .map_err(|_| "big: size too large".to_string())?;
                Ok(vec![b'x'; n])
            }
            "log-flood" => {
                let n = number(&payload, Some(u64::MAX))?;
                for i in 0..n {
                    logging::log(Level::Info, &format!("flood line {i}"));
                }
                reply(&format!("logged {n}"))
            }
            "host-spin" => {
                let size = usize::try_from(number(&payload, Some(4 << 20))?)
                    .map_err(|_| "host-spin: size too large".to_string())?;
                let line = "x".repeat(size);
                loop {
                    logging::log(Level::Trace, &line);
                }
            }
            "send-flood" => {
                let text = String::from_utf8_lossy(&payload);
                let (count, rest) = text.split_once(' ').unwrap_or((&*text, ""));
                let n = number(count.as_bytes(), None)?;
                let (to, topic, body) = target_topic_body(rest.as_bytes())?;
                let (mut sent, mut refused, mut first) = (0u64, 0u64, None);
                for _ in 0..n {
                    match messaging::send(&to, &topic, body) {
                        Ok(()) => sent += 1,
                        Err(e) => {
                            refused += 1;
                            first.get_or_insert(e);
                        }
                    }
                }
                let first = first.unwrap_or_default();
                reply(&format!("sent={sent} refused={refused}\n{first}"))
            }
            other => Err(format!("unknown topic: {other}")),
        }
    }
}

/// The payload as a decimal `u64`; an empty payload gives `default` (or an error if none).
fn number(payload: &[u8], default: Option<u64>) -> Result<u64, String> {
    let text = String::from_utf8_lossy(payload);
    match (text.trim(), default) {
        ("", Some(d)) => Ok(d),
        (t, _) => t
            .parse()
            .map_err(|_| format!("expected a decimal number, got {text:?}")),
    }
}

/// Splits `TARGET TOPIC BODY...` at the first two spaces; the body may be empty.
fn target_topic_body(payload: &[u8]) -> Result<(String, String, &[u8]), String> {
    let mut parts = payload.splitn(3, |&b| b == b' ');
    let target = parts.next().unwrap_or_default();
    let topic = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    if target.is_empty() || topic.is_empty() {
        return Err(format!(
            "expected \"TARGET TOPIC [BODY]\", got {:?}",
            String::from_utf8_lossy(payload)
        ));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((text(target), text(topic), body))
}

fn spin() -> ! {
    let mut i = 0u64;
    loop {
        i = black_box(i).wrapping_add(1);
    }
}

fn burn(n: u64) {
    let mut acc = 0u64;
    for i in 0..n {
        acc = black_box(acc.wrapping_mul(31).wrapping_add(i));
    }
    black_box(acc);
}

/// Never returns: when the host refuses to grow memory, the allocator fails
/// and Rust aborts (a trap).
fn grow() -> ! {
    loop {
        touched(MIB).leak();
    }
}

/// Allocates exactly `n` bytes and writes one byte in every 4 KiB page (and the
/// last one). Not a full fill: wasmtime charges fuel per byte of `memory.fill`,
/// and `grow`/`alloc` must hit the memory limit, not the fuel limit.
fn touched(n: usize) -> Vec<u8> {
    let mut block: Vec<u8> = Vec::with_capacity(n);
    let spare = block.spare_capacity_mut();
    for i in (0..n).step_by(4096).chain(n.checked_sub(1)) {
        spare[i].write(1);
    }
    black_box(&mut block);
    block
}

/// Each frame keeps a small array alive across the call, so the recursion can
/// be neither turned into a loop nor elided. The array is small on purpose:
/// it lives on Rust's 1 MiB shadow stack in linear memory, and the wasm
/// (native) stack should run out first.
fn recurse(n: u64) -> u64 {
    let mut frame = [0u8; 16];
    frame[..8].copy_from_slice(&n.to_le_bytes());
    black_box(&mut frame);
    if n <= 1 {
        return n;
    }
    let depth = recurse(n - 1) + 1;
    black_box(&frame);
    depth
}

export!(Faulty);
