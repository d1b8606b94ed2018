//! `counter`: keeps one `i64` in memory between messages.
//!
//! Topics:
//! - `"increment"`: empty payload adds 1; a decimal ASCII number (may be
//!   negative) adds that; anything else is `err` naming the bad input.
//! - `"get"`: no change.
//! - `"reset"`: sets it to 0.
//!
//! Every `ok` reply is the current value as decimal ASCII. Any other topic is
//! `err("unknown topic: ...")`.
//!
//! Used by the tests of state kept between messages, of messaging between
//! components (another component requests `counter`), and of restarts (a
//! restarted instance starts again from 0).

wit_bindgen::generate!({ path: "../../../../wit", world: "component" });

use std::sync::atomic::{AtomicI64, Ordering};

use airssys::component::types::Message;
use exports::airssys::component::handler::Guest;

static VALUE: AtomicI64 = AtomicI64::new(0);

struct Counter;

impl Guest for Counter {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        let value = match msg.topic.as_str() {
            "increment" => {
                let by = parse_step(&msg.payload)?;
                let now = VALUE
                    .load(Ordering::Relaxed)
                    .checked_add(by)
                    .ok_or_else(|| format!("counter overflow adding {by}"))?;
                VALUE.store(now, Ordering::Relaxed);
                now
            }
            "get" => VALUE.load(Ordering::Relaxed),
            "reset" => {
                VALUE.store(0, Ordering::Relaxed);
                0
            }
            other => return Err(format!("unknown topic: {other}")),
        };
        Ok(value.to_string().into_bytes())
    }
}

/// Empty payload means 1; otherwise a decimal `i64` (surrounding whitespace allowed).
fn parse_step(payload: &[u8]) -> Result<i64, String> {
    if payload.is_empty() {
        return Ok(1);
    }
    let text = String::from_utf8_lossy(payload);
    text.trim()
        .parse()
        .map_err(|_| format!("increment: not a decimal number: {text:?}"))
}

export!(Counter);
