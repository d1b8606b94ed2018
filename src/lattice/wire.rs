//! What crosses NATS: subjects, headers, and the frames of requests, replies and errors.
//!
//! - A component `NAME` of lattice `L` is reached at `airssys.v1.L.c.NAME.ask` (a reply
//!   wanted) and `airssys.v1.L.c.NAME.send` (none), in queue group `airssys.L.NAME`: every
//!   host that runs and exports it subscribes, and NATS hands each message to one of them.
//! - A request's body is the topic's length (4 bytes, big-endian), the topic, then the
//!   payload; its headers give the caller's remaining budget in ms (relative, so no clock
//!   is compared across hosts) and the sending component.
//! - The callee answers on the request's reply subject: if its answer is not ready within
//!   25 ms, first an **ack** naming the host that took the request; then the **reply**: the payload with the call's
//!   fuel and time, or an error as its kind, the facts of its variant in headers and its
//!   text in the body.
//! - Each host announces itself on `airssys.v1.L.h.HOST.alive` every
//!   [`HEARTBEAT`](super::HEARTBEAT) and `airssys.v1.L.h.HOST.gone` when it leaves; a
//!   caller whose request was acked by a host that stops announcing itself (or leaves)
//!   ends it `stopped`.

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::executor::Reply;
use crate::error::{Error, ErrorKind};

/// The protocol's version, in every subject.
const PREFIX: &str = "airssys.v1";

/// Header: the caller's remaining budget, in whole milliseconds.
pub(crate) const BUDGET: &str = "Airssys-Budget-Ms";
/// Header: the sending component.
pub(crate) const SENDER: &str = "Airssys-Sender";
/// Header of an ack: the host that took the request.
pub(crate) const ACK: &str = "Airssys-Ack";
/// Header of an error reply: its kind (`trap`, `timeout`, ...).
pub(crate) const KIND: &str = "Airssys-Kind";
/// Header of an error reply: the host that answered.
const HOST: &str = "Airssys-Host";
/// Header: the component an error is about.
const COMPONENT: &str = "Airssys-Component";
/// Header of a reply: fuel consumed.
const FUEL: &str = "Airssys-Fuel";
/// Header of a reply or a `timeout`: time spent, in microseconds.
const ELAPSED: &str = "Airssys-Elapsed-Us";
/// Header of `fuel`, `timeout`, `memory` and `too-large` errors: the limit.
const LIMIT: &str = "Airssys-Limit";
/// Header of a `timeout`: whether the limit was the caller's budget.
const BUDGETED: &str = "Airssys-Budgeted";
/// Header of `memory` and `too-large`: the size asked for.
const SIZE: &str = "Airssys-Size";
/// Header of `too-large`: what sets the limit.
const BY: &str = "Airssys-By";
/// Header of `too-large`: what was too large.
const WHAT: &str = "Airssys-What";

/// `airssys.v1.L.c.NAME.ask`: requests to the component `name`.
pub(crate) fn ask_subject(lattice: &str, name: &str) -> String {
    format!("{PREFIX}.{lattice}.c.{name}.ask")
}

/// `airssys.v1.L.c.NAME.send`: messages to `name` that want no reply.
pub(crate) fn send_subject(lattice: &str, name: &str) -> String {
    format!("{PREFIX}.{lattice}.c.{name}.send")
}

/// `airssys.v1.L.c.NAME.*`: both, for the hosts that serve `name`.
pub(crate) fn component_subjects(lattice: &str, name: &str) -> String {
    format!("{PREFIX}.{lattice}.c.{name}.*")
}

/// The queue group of the hosts serving `name`: one of them gets each message.
pub(crate) fn queue_group(lattice: &str, name: &str) -> String {
    format!("airssys.{lattice}.{name}")
}

/// `airssys.v1.L.r.ID`: the inbox prefix of one caller (replies come to `ID.SEQ`).
pub(crate) fn inbox_prefix(lattice: &str, id: &str) -> String {
    format!("{PREFIX}.{lattice}.r.{id}")
}

/// `airssys.v1.L.h.HOST.alive` or `.gone`.
pub(crate) fn presence_subject(lattice: &str, host: &str, event: Presence) -> String {
    let event = match event {
        Presence::Alive => "alive",
        Presence::Gone => "gone",
    };
    format!("{PREFIX}.{lattice}.h.{host}.{event}")
}

/// `airssys.v1.L.h.*.*`: every host's announcements.
pub(crate) fn presence_subjects(lattice: &str) -> String {
    format!("{PREFIX}.{lattice}.h.*.*")
}

/// A host's announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// It is there (sent every heartbeat).
    Alive,
    /// It left: whatever it had accepted and not answered will not be answered.
    Gone,
}

/// The host and announcement of a presence subject.
pub(crate) fn parse_presence(subject: &str) -> Option<(&str, Presence)> {
    let mut tokens = subject.rsplitn(3, '.');
    let event = match tokens.next()? {
        "alive" => Presence::Alive,
        "gone" => Presence::Gone,
        _ => return None,
    };
    Some((tokens.next()?, event))
}

/// A request's body: the topic's length, the topic, the payload.
pub(crate) fn request_body(topic: &str, payload: &[u8]) -> Bytes {
    let mut body = BytesMut::with_capacity(4 + topic.len() + payload.len());
    // A topic of 4 GiB cannot be sent anyway (max_payload is far below).
    body.put_u32(u32::try_from(topic.len()).unwrap_or(u32::MAX));
    body.put_slice(topic.as_bytes());
    body.put_slice(payload);
    body.freeze()
}

/// The topic and payload of a request's body; `None` when it is not one.
pub(crate) fn parse_request(body: &[u8]) -> Option<(String, Vec<u8>)> {
    let (len, rest) = body.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if rest.len() < len {
        return None;
    }
    let (topic, payload) = rest.split_at(len);
    Some((String::from_utf8(topic.to_vec()).ok()?, payload.to_vec()))
}

/// A send's headers: the sender, if any.
pub(crate) fn send_headers(sender: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(sender) = sender {
        headers.insert(SENDER, sender);
    }
    headers
}

/// A request's headers: a send's, and the budget left.
pub(crate) fn request_headers(budget: Duration, sender: Option<&str>) -> HeaderMap {
    let mut headers = send_headers(sender);
    // At least 1 ms: 0 would read as "no time left" for a budget of 0.4 ms.
    let ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX).max(1);
    headers.insert(BUDGET, ms.to_string().as_str());
    headers
}

/// A header's value as text.
pub(crate) fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|v| v.as_str())
}

fn number(headers: Option<&HeaderMap>, name: &str) -> u64 {
    header(headers, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// An ack's headers.
pub(crate) fn ack_headers(host: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACK, host);
    headers
}

/// A successful reply: headers and body.
pub(crate) fn reply(reply: Reply) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(FUEL, reply.fuel_consumed.to_string().as_str());
    let us = u64::try_from(reply.elapsed.as_micros()).unwrap_or(u64::MAX);
    headers.insert(ELAPSED, us.to_string().as_str());
    (headers, Bytes::from(reply.payload))
}

/// An error reply from `host`: its kind and facts in headers, its text in the body.
pub(crate) fn error_reply(error: &Error, host: &str) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(KIND, error.kind().as_str());
    headers.insert(HOST, host);
    let (component, text): (&str, String) = match error {
        Error::Handler { component, message } => (component, message.clone()),
        Error::Trap {
            component, reason, ..
        } => (component, reason.clone()),
        Error::Fuel { component, limit } => {
            headers.insert(LIMIT, limit.to_string().as_str());
            (component, String::new())
        }
        Error::Timeout {
            component,
            limit_ms,
            budget,
            elapsed,
        } => {
            headers.insert(LIMIT, limit_ms.to_string().as_str());
            headers.insert(BUDGETED, if *budget { "1" } else { "0" });
            let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            headers.insert(ELAPSED, us.to_string().as_str());
            (component, String::new())
        }
        Error::Memory {
            component,
            limit,
            requested,
        } => {
            headers.insert(LIMIT, limit.to_string().as_str());
            headers.insert(SIZE, requested.to_string().as_str());
            (component, String::new())
        }
        Error::Denied { component, what } => (component, what.clone()),
        Error::NotFound { name } => (name, String::new()),
        Error::Overloaded { component } => (component, String::new()),
        Error::Stopped { component, reason } => (component, reason.clone()),
        Error::TooLarge {
            component,
            what,
            size,
            limit,
            by,
        } => {
            headers.insert(LIMIT, limit.to_string().as_str());
            headers.insert(SIZE, size.to_string().as_str());
            headers.insert(WHAT, what.as_str());
            headers.insert(BY, by.as_str());
            (component, String::new())
        }
        // A message to a component that serves HTTP only.
        Error::Component {
            component, reason, ..
        } => (component, reason.clone()),
        // Not a message's outcome (a component loads before it takes messages): sent as
        // their text, arriving as a trap of the callee.
        other @ (Error::Manifest(_) | Error::Link { .. }) => {
            headers.insert(KIND, ErrorKind::Trap.as_str());
            ("", other.to_string())
        }
    };
    if !component.is_empty() {
        headers.insert(COMPONENT, component);
    }
    (headers, Bytes::from(text))
}

/// The reply or error a callee's answer carries; `to` names the component and `host` the
/// host (the one that acked it) when the answer does not. An unknown kind (a newer host) is a trap with its text.
pub(crate) fn parse_reply(
    to: &str,
    host: &str,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<Reply, Error> {
    let Some(kind) = header(headers, KIND) else {
        return Ok(Reply {
            payload: body.to_vec(),
            fuel_consumed: number(headers, FUEL),
            elapsed: Duration::from_micros(number(headers, ELAPSED)),
        });
    };
    let component = header(headers, COMPONENT).unwrap_or(to).to_string();
    let host = header(headers, HOST).unwrap_or(host);
    let text = String::from_utf8_lossy(body).into_owned();
    let on_host = |text: String| format!("{text} (on host {host})");
    Err(match kind {
        "handler" => Error::Handler {
            component,
            message: text,
        },
        "fuel" => Error::Fuel {
            component,
            limit: number(headers, LIMIT),
        },
        "timeout" => Error::Timeout {
            component,
            limit_ms: number(headers, LIMIT),
            budget: header(headers, BUDGETED) == Some("1"),
            elapsed: Duration::from_micros(number(headers, ELAPSED)),
        },
        "memory" => Error::Memory {
            component,
            limit: number(headers, LIMIT),
            requested: number(headers, SIZE),
        },
        "component" => Error::Component {
            component,
            path: std::path::PathBuf::new(),
            reason: on_host(text),
            cause: None,
        },
        "denied" => Error::Denied {
            component,
            what: text,
        },
        "not-found" => Error::NotFound { name: component },
        "overloaded" => Error::Overloaded { component },
        "stopped" => Error::Stopped {
            component,
            reason: on_host(text),
        },
        "too-large" => Error::TooLarge {
            component,
            what: header(headers, WHAT).unwrap_or("the message").to_string(),
            size: number(headers, SIZE),
            limit: number(headers, LIMIT),
            by: header(headers, BY).unwrap_or("the lattice").to_string(),
        },
        _ => Error::Trap {
            component,
            reason: on_host(text),
            cause: None,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_request_body_gives_back_its_topic_and_payload() {
        let body = request_body("gréet", b"\x00\xffpayload");
        assert_eq!(
            parse_request(&body),
            Some(("gréet".to_string(), b"\x00\xffpayload".to_vec()))
        );
        assert_eq!(parse_request(&body[..3]), None, "shorter than the length");
        assert_eq!(parse_request(&body[..6]), None, "shorter than the topic");
    }

    #[test]
    fn every_error_kind_of_a_message_arrives_as_itself() {
        let errors = [
            Error::Handler {
                component: "a".into(),
                message: "no\nsuch".into(),
            },
            Error::Trap {
                component: "a".into(),
                reason: "unreachable".into(),
                cause: None,
            },
            Error::Fuel {
                component: "a".into(),
                limit: 7,
            },
            Error::Timeout {
                component: "a".into(),
                limit_ms: 200,
                budget: true,
                elapsed: Duration::from_millis(201),
            },
            Error::Memory {
                component: "a".into(),
                limit: 10,
                requested: 20,
            },
            Error::NotFound { name: "a".into() },
            Error::Overloaded {
                component: "a".into(),
            },
            Error::Stopped {
                component: "a".into(),
                reason: "gone".into(),
            },
            Error::TooLarge {
                component: "a".into(),
                what: "the reply".into(),
                size: 9,
                limit: 8,
                by: "lattice max_payload".into(),
            },
        ];
        for error in errors {
            let (headers, body) = error_reply(&error, "h1");
            let back = parse_reply("x", "h1", Some(&headers), &body).unwrap_err();
            assert_eq!(back.kind(), error.kind(), "{error}");
            match (&error, &back) {
                (
                    Error::Timeout {
                        limit_ms: a,
                        budget: b,
                        ..
                    },
                    Error::Timeout {
                        limit_ms: c,
                        budget: d,
                        ..
                    },
                ) => {
                    assert_eq!((a, b), (c, d));
                }
                (Error::Memory { requested: a, .. }, Error::Memory { requested: b, .. }) => {
                    assert_eq!(a, b);
                }
                (Error::Handler { message: a, .. }, Error::Handler { message: b, .. }) => {
                    assert_eq!(a, b, "the handler's own text, unchanged");
                }
                _ => {}
            }
        }
    }

    #[test]
    fn presence_subjects_name_their_host() {
        let subject = presence_subject("default", "edge-1_X9", Presence::Gone);
        assert_eq!(
            parse_presence(&subject),
            Some(("edge-1_X9", Presence::Gone))
        );
        assert_eq!(parse_presence("airssys.v1.default.h.a.other"), None);
    }
}
