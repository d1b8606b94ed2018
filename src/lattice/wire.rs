//! What crosses NATS: subjects, headers, and the frames of requests, replies and errors.
//!
//! - A component `NAME` of lattice `L` is reached at `airssys.v2.L.c.NAME.ask` (a reply
//!   wanted) and `airssys.v2.L.c.NAME.send` (none), in queue group `airssys.L.NAME`: every
//!   host that runs and exports it subscribes, and NATS hands each message to one of them.
//! - A request's body (no headers: the hot path parses none) is the caller's remaining
//!   budget in ms (8 bytes; relative, so no clock is compared across hosts; 0 for a send),
//!   the subject for its ack (`airssys.v2.L.r.ID.SEQ`; empty for a send) and the sending
//!   component's name (empty for none), each after a 2-byte length, the topic after a
//!   4-byte length, then the payload; numbers big-endian.
//! - If its answer is not ready within 25 ms, the callee first sends an **ack** naming the
//!   host that took the request (a header) to that ack subject. The **reply** goes to the
//!   request's reply subject: without headers, the call's fuel and time (8 bytes each)
//!   then the payload; or an error as its kind, the facts of its variant in headers and
//!   its text in the body.
//! - Each host also serves `NAME` at `airssys.v2.L.d.HOST.NAME.ask|send`, without a queue
//!   group: a caller that finds a host serving `NAME` silent (it may still count in the
//!   queue group until the server drops it) asks one of the live ones by that subject.
//! - A caller that just joined publishes `airssys.v2.L.hello`: every host announces itself
//!   at once, so the caller knows the live hosts without waiting for a heartbeat.
//! - Each host announces itself on `airssys.v2.L.h.HOST.alive` every
//!   [`HEARTBEAT`](super::HEARTBEAT) and `airssys.v2.L.h.HOST.gone` when it leaves; a
//!   caller whose request was acked by a host that stops announcing itself (or leaves)
//!   ends it `stopped`.

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::executor::Reply;
use crate::error::{Error, ErrorKind};
use crate::imports::ComponentMessage;

/// The protocol's version, in every subject: hosts of another version do not see each
/// other (v2: the request and reply frames in the body).
const PREFIX: &str = "airssys.v2";

/// Header of an ack: the host that took the request.
pub(crate) const ACK: &str = "Airssys-Ack";
/// Header of an error reply: its kind (`trap`, `timeout`, ...).
pub(crate) const KIND: &str = "Airssys-Kind";
/// Header of an error reply: the host that answered.
const HOST: &str = "Airssys-Host";
/// Header: the component an error is about.
const COMPONENT: &str = "Airssys-Component";
/// Header of a `timeout`: time spent, in microseconds.
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

/// `airssys.v2.L.c.NAME.ask`: requests to the component `name`.
pub(crate) fn ask_subject(lattice: &str, name: &str) -> String {
    // Once per ask: one allocation of the exact size.
    [PREFIX, lattice, "c", name, ASK].join(".")
}

/// The last token of a request's subject: a reply wanted.
pub(crate) const ASK: &str = "ask";
/// The last token of a send's subject: no reply.
pub(crate) const SEND: &str = "send";

/// `airssys.v2.L.d.HOST.NAME.ask` (`way` [`ASK`]) or `.send` ([`SEND`]): `name` on the
/// host `host` only, past the queue group (while another host serving `name` is silent).
pub(crate) fn direct_subject(lattice: &str, host: &str, name: &str, way: &str) -> String {
    [PREFIX, lattice, "d", host, name, way].join(".")
}

/// `airssys.v2.L.d.HOST.NAME.*`: both, for the host `host` that serves `name`.
pub(crate) fn direct_subjects(lattice: &str, host: &str, name: &str) -> String {
    [PREFIX, lattice, "d", host, name, "*"].join(".")
}

/// `airssys.v2.L.c.NAME.send`: messages to `name` that want no reply.
pub(crate) fn send_subject(lattice: &str, name: &str) -> String {
    format!("{PREFIX}.{lattice}.c.{name}.send")
}

/// `airssys.v2.L.c.NAME.*`: both, for the hosts that serve `name`.
pub(crate) fn component_subjects(lattice: &str, name: &str) -> String {
    format!("{PREFIX}.{lattice}.c.{name}.*")
}

/// The queue group of the hosts serving `name`: one of them gets each message.
pub(crate) fn queue_group(lattice: &str, name: &str) -> String {
    format!("airssys.{lattice}.{name}")
}

/// `airssys.v2.L.r.ID`: the inbox prefix of one caller (an ask's ack and answer both come
/// to `ID.SEQ`).
pub(crate) fn inbox_prefix(lattice: &str, id: &str) -> String {
    format!("{PREFIX}.{lattice}.r.{id}")
}

/// `airssys.v2.L.h.HOST.alive` or `.gone`.
pub(crate) fn presence_subject(lattice: &str, host: &str, event: Presence) -> String {
    let event = match event {
        Presence::Alive => "alive",
        Presence::Gone => "gone",
    };
    format!("{PREFIX}.{lattice}.h.{host}.{event}")
}

/// `airssys.v2.L.hello`: a caller that just joined asks every host to announce itself now.
pub(crate) fn hello_subject(lattice: &str) -> String {
    [PREFIX, lattice, "hello"].join(".")
}

/// `airssys.v2.L.h.*.*`: every host's announcements.
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

/// What an ask carries beside its message: the caller's remaining budget, and where the
/// callee sends its ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asked<'a> {
    pub(crate) budget: Duration,
    pub(crate) ack_to: &'a str,
}

/// What an ask's request carries beside its message, as its caller writes it: the
/// remaining budget, and the caller's inbox and the ask's number, which make the subject
/// the callee acks to (`INBOX.SEQ`, read back as [`Asked::ack_to`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asking<'a> {
    pub(crate) budget: Duration,
    pub(crate) inbox: &'a str,
    pub(crate) seq: u64,
}

/// A request's body: what an ask carries (`None` for a send), then the message.
pub(crate) fn request_body(asking: Option<Asking<'_>>, message: &ComponentMessage) -> Bytes {
    use std::fmt::Write as _;
    let sender = message.sender.as_deref().unwrap_or_default();
    // `INBOX.SEQ`, written in place (no subject string of its own per ask).
    let ack_len = asking.map_or(0, |a| a.inbox.len() + 1 + digits(a.seq));
    let topic = &message.topic;
    let mut body = BytesMut::with_capacity(
        8 + 2 + ack_len + 2 + sender.len() + 4 + topic.len() + message.payload.len(),
    );
    // At least 1 ms: 0 would read as a send for a budget of 0.4 ms.
    body.put_u64(asking.map_or(0, |a| {
        u64::try_from(a.budget.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }));
    // Subjects, names and topics this long cannot be sent anyway (max_payload is far below
    // 4 GiB; a subject or a component name far under 64 KiB).
    body.put_u16(u16::try_from(ack_len).unwrap_or(u16::MAX));
    if let Some(a) = asking {
        body.put_slice(a.inbox.as_bytes());
        let _ = write!(body, ".{}", a.seq);
    }
    body.put_u16(u16::try_from(sender.len()).unwrap_or(u16::MAX));
    body.put_slice(sender.as_bytes());
    body.put_u32(u32::try_from(topic.len()).unwrap_or(u32::MAX));
    body.put_slice(topic.as_bytes());
    body.put_slice(&message.payload);
    body.freeze()
}

/// The subject an ask's request names for its ack and its answer (`INBOX.SEQ`), as a
/// slice of the request's body: no string of its own. `None` for a send's body.
pub(crate) fn ack_subject(body: &Bytes) -> Option<async_nats::Subject> {
    let (ack_to, _) = sized(body.get(8..)?, 2)?;
    if ack_to.is_empty() {
        return None;
    }
    async_nats::Subject::from_utf8(body.slice_ref(ack_to)).ok()
}

/// How many decimal digits `n` has.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// What an ask carries (`None` for a send) and the message of a request's body; `None`
/// when it is not one.
pub(crate) fn parse_request(body: &[u8]) -> Option<(Option<Asked<'_>>, ComponentMessage)> {
    let (budget, rest) = body.split_first_chunk::<8>()?;
    let (ack_to, rest) = sized(rest, 2)?;
    let (sender, rest) = sized(rest, 2)?;
    let (topic, payload) = sized(rest, 4)?;
    let asked = match u64::from_be_bytes(*budget) {
        0 => None,
        ms => Some(Asked {
            budget: Duration::from_millis(ms),
            ack_to: std::str::from_utf8(ack_to).ok()?,
        }),
    };
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
    Some((
        asked,
        ComponentMessage {
            topic: text(topic)?,
            payload: payload.to_vec(),
            sender: if sender.is_empty() {
                None
            } else {
                Some(text(sender)?)
            },
        },
    ))
}

/// The `len_bytes`-long big-endian length at the start of `bytes`, the bytes it counts,
/// and what follows them.
fn sized(bytes: &[u8], len_bytes: usize) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_at_checked(len_bytes)?;
    let len = len.iter().fold(0usize, |n, b| n << 8 | usize::from(*b));
    rest.split_at_checked(len)
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

/// A successful reply's body (sent without headers): fuel, time in µs, payload.
pub(crate) fn reply(reply: Reply) -> Bytes {
    let mut body = BytesMut::with_capacity(16 + reply.payload.len());
    body.put_u64(reply.fuel_consumed);
    body.put_u64(u64::try_from(reply.elapsed.as_micros()).unwrap_or(u64::MAX));
    body.put_slice(&reply.payload);
    body.freeze()
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
        let frame = body
            .split_first_chunk::<8>()
            .and_then(|(fuel, rest)| Some((fuel, rest.split_first_chunk::<8>()?)));
        let Some((fuel, (us, payload))) = frame else {
            return Err(Error::Trap {
                component: to.to_string(),
                reason: format!("a malformed reply of {} bytes (on host {host})", body.len()),
                cause: None,
            });
        };
        return Ok(Reply {
            payload: payload.to_vec(),
            fuel_consumed: u64::from_be_bytes(*fuel),
            elapsed: Duration::from_micros(u64::from_be_bytes(*us)),
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
    fn a_request_body_gives_back_its_budget_ack_subject_sender_topic_and_payload() {
        let message = ComponentMessage {
            topic: "gréet".into(),
            payload: b"\x00\xffpayload".to_vec(),
            sender: Some("caller-1".into()),
        };
        let asking = |us| Asking {
            budget: Duration::from_micros(us),
            inbox: "airssys.v2.L.r.h1",
            seq: 7,
        };
        let asked = |ms| Asked {
            budget: Duration::from_millis(ms),
            ack_to: "airssys.v2.L.r.h1.7",
        };
        let body = request_body(Some(asking(1_500)), &message);
        let (back_asked, back) = parse_request(&body).unwrap();
        assert_eq!(back_asked, Some(asked(1)), "whole ms, rounded down");
        assert_eq!(
            (back.topic, back.payload, back.sender),
            (
                message.topic.clone(),
                message.payload.clone(),
                message.sender.clone()
            )
        );
        let tiny = request_body(Some(asking(400)), &message);
        assert_eq!(
            parse_request(&tiny).unwrap().0,
            Some(asked(1)),
            "never 0: that is a send"
        );
        for seq in [0, 9, 10, 12_345, u64::MAX] {
            let body = request_body(
                Some(Asking {
                    seq,
                    ..asking(2_000)
                }),
                &message,
            );
            let ack_to = parse_request(&body).unwrap().0.unwrap().ack_to;
            assert_eq!(ack_to, format!("airssys.v2.L.r.h1.{seq}"));
            assert_eq!(ack_subject(&body).as_deref(), Some(ack_to));
        }
        let send = ComponentMessage {
            sender: None,
            ..message
        };
        let send_body = request_body(None, &send);
        let (back_asked, back) = parse_request(&send_body).unwrap();
        assert_eq!((back_asked, back.sender), (None, None));
        assert_eq!(ack_subject(&send_body), None, "a send names no subject");
        assert_eq!(ack_subject(&body.slice(..20)), None, "cut in the subject");
        for cut in [3, 9, 20, 31, 40] {
            assert!(parse_request(&body[..cut]).is_none(), "cut at {cut}");
        }
        let mut bad_topic = body.to_vec();
        let topic_at = 8 + 2 + 19 + 2 + 8 + 4;
        assert_eq!(&bad_topic[topic_at..topic_at + 2], "gr".as_bytes());
        bad_topic[topic_at] = 0xff;
        assert!(
            parse_request(&bad_topic).is_none(),
            "a topic that is not UTF-8"
        );
    }

    #[test]
    fn a_reply_gives_back_its_payload_fuel_and_time_and_a_short_one_is_a_trap() {
        let body = reply(Reply {
            payload: b"out".to_vec(),
            fuel_consumed: 1234,
            elapsed: Duration::from_micros(56),
        });
        let back = parse_reply("echo", "h1", None, &body).unwrap();
        assert_eq!(
            (back.payload, back.fuel_consumed, back.elapsed),
            (b"out".to_vec(), 1234, Duration::from_micros(56))
        );
        let short = parse_reply("echo", "h1", None, &body[..15]).unwrap_err();
        assert_eq!(short.kind(), ErrorKind::Trap);
        assert!(short.to_string().contains("h1"), "{short}");
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
        assert_eq!(parse_presence("airssys.v2.default.h.a.other"), None);
    }
}
