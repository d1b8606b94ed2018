//! Payloads and outputs as text.

use std::process::Output;

/// `bytes` as text, any invalid UTF-8 replaced (for assertions and their messages).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a finished process wrote on stderr, as [`text()`].
pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// The reply's payload as text; panics on an error or a payload that is not UTF-8.
#[cfg(feature = "host")]
pub fn reply_text(reply: Result<airssys_wasm::Reply, airssys_wasm::Error>) -> String {
    String::from_utf8(reply.unwrap().payload).unwrap()
}
