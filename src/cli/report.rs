//! How the command line writes: results on stdout (a closed stdout ends the output
//! quietly), failures as `error[KIND]: message` on stderr with the kind's exit code.

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

use airssys_wasm::{Error, Reply};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What became of stdout: open, closed by the reader (`| head`), or failed otherwise.
static STDOUT: AtomicU8 = AtomicU8::new(OPEN);
const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

/// `println!` for the command line: a reader that closed stdout (a broken pipe) ends the
/// output quietly, with the exit status of what was done; another write failure is
/// reported once and makes the exit status 2 (see [`exit_code`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::report::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}
pub(crate) use say;

/// Writes `bytes` to stdout, unless it was closed or failed before.
pub(crate) fn write_stdout(bytes: &[u8]) {
    if STDOUT.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT.store(CLOSED, Ordering::Relaxed);
        } else {
            STDOUT.store(FAILED, Ordering::Relaxed);
            eprintln!("error[usage]: cannot write to stdout: {e}");
        }
    }
}

/// The command's exit code, or 2 if writing its output failed (a closed stdout is not a
/// failure: the reader had what it wanted).
pub(crate) fn exit_code(code: i32) -> i32 {
    if STDOUT.load(Ordering::Relaxed) == FAILED {
        2
    } else {
        code
    }
}

/// A reply on stdout: its bytes unchanged, or (`--json`) `{"ok": true, "reply": BASE64,
/// "fuel_consumed": N, "elapsed_us": N}`; exit code 0.
pub(crate) fn success(reply: &Reply, json: bool) -> i32 {
    if json {
        let object = serde_json::json!({
            "ok": true,
            "reply": BASE64.encode(&reply.payload),
            "fuel_consumed": reply.fuel_consumed,
            "elapsed_us": u64::try_from(reply.elapsed.as_micros()).unwrap_or(u64::MAX),
        });
        say!("{object}");
    } else {
        write_stdout(&reply.payload);
    }
    0
}

/// A failure as `call` and `ask` report it: the JSON object with `--json`, else
/// `error[KIND]: message` on stderr; the kind's exit code.
pub(crate) fn failed(error: &Error, json: bool) -> i32 {
    if json {
        failure_json(error)
    } else {
        failure(error)
    }
}

/// Prints `error[KIND]: message` on stderr and returns the kind's exit code.
pub(crate) fn failure(error: &Error) -> i32 {
    eprintln!("error[{}]: {error}", error.kind());
    error.kind().exit_code()
}

/// `{"ok": false, "kind": KIND, "message": ...}` on stdout (`--json`), and the kind's exit
/// code.
pub(crate) fn failure_json(error: &Error) -> i32 {
    let object = serde_json::json!({ "ok": false, "kind": error.kind().as_str(), "message": error.to_string() });
    say!("{object}");
    error.kind().exit_code()
}

/// A usage-level failure that is not one of the host's errors (exit 2).
pub(crate) fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!("error[usage]: {message}");
    2
}
