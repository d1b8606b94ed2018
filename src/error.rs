//! The host's error type: one variant per error kind of the contract.
//!
//! [`ErrorKind`] is the stable, machine-readable kind (`"trap"`, `"fuel"`, ...) that the
//! command line prints and maps to exit codes; [`Error`] carries the facts a person needs,
//! always including the component's name.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::manifest::ManifestError;

/// The stable kind of a failure, exactly the table of the contract (section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The `Component.toml` is invalid.
    Manifest,
    /// The file is not a valid component, or lacks the `handler` export.
    Component,
    /// The component imports something the host does not provide.
    Link,
    /// The component returned `err(...)`; it keeps running.
    Handler,
    /// The component trapped; it is restarted.
    Trap,
    /// The component used up its fuel for one message; it is restarted.
    Fuel,
    /// One message took longer than `max_execution_time_ms`; the component is restarted.
    Timeout,
    /// The component tried to grow past `max_memory`; it is restarted.
    Memory,
    /// A capability the component was not granted.
    Denied,
    /// No component of that name.
    NotFound,
    /// The target's mailbox is full.
    Overloaded,
    /// The target was stopped, or its supervisor gave up.
    Stopped,
    /// A message or reply is larger than the way it travels allows (an HTTP body limit, a
    /// lattice's `max_payload`).
    TooLarge,
}

impl ErrorKind {
    /// Every kind, in the contract's order.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Manifest,
        ErrorKind::Component,
        ErrorKind::Link,
        ErrorKind::Handler,
        ErrorKind::Trap,
        ErrorKind::Fuel,
        ErrorKind::Timeout,
        ErrorKind::Memory,
        ErrorKind::Denied,
        ErrorKind::NotFound,
        ErrorKind::Overloaded,
        ErrorKind::Stopped,
        ErrorKind::TooLarge,
    ];

    /// The kind's stable name, as printed by the command line (`error[trap]: ...`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Manifest => "manifest",
            ErrorKind::Component => "component",
            ErrorKind::Link => "link",
            ErrorKind::Handler => "handler",
            ErrorKind::Trap => "trap",
            ErrorKind::Fuel => "fuel",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Stopped => "stopped",
            ErrorKind::TooLarge => "too-large",
        }
    }

    /// The command line's exit status for this kind (contract section 4).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Handler => 1,
            ErrorKind::Manifest
            | ErrorKind::Component
            | ErrorKind::Link
            | ErrorKind::NotFound
            | ErrorKind::Denied => 2,
            ErrorKind::Trap => 3,
            ErrorKind::Timeout => 4,
            ErrorKind::Fuel => 5,
            ErrorKind::Memory => 6,
            ErrorKind::TooLarge => 7,
            ErrorKind::Overloaded | ErrorKind::Stopped => 8,
        }
    }

    /// Whether a component that failed this way is restarted by its supervisor.
    pub fn is_crash(self) -> bool {
        matches!(
            self,
            ErrorKind::Trap | ErrorKind::Fuel | ErrorKind::Timeout | ErrorKind::Memory
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in the host, one variant per [`ErrorKind`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The manifest is invalid; the inner error names the file and the key.
    #[error(transparent)]
    Manifest(#[from] ManifestError),

    /// The file is not a valid component for this host.
    #[error("component `{component}`: {}: {reason}{}", .path.display(), after_colon(.cause))]
    Component {
        /// The component's name from its manifest.
        component: String,
        /// The `.wasm` or `.cwasm` file.
        path: PathBuf,
        /// What is wrong with it, in our words.
        reason: String,
        /// wasmtime's error, when wasmtime refused it (compiling, deserializing, linking,
        /// instantiating).
        #[source]
        cause: Option<WasmtimeCause>,
    },

    /// The component imports something the host does not provide.
    #[error(
        "component `{component}` cannot be linked: it imports `{import}`, which this host does not provide ({cause})"
    )]
    Link {
        /// The component's name.
        component: String,
        /// The missing import, e.g. `airssys:absent/nothing@0.1.0`.
        import: String,
        /// wasmtime's linker error.
        #[source]
        cause: WasmtimeCause,
    },

    /// The component returned `err(message)`.
    #[error("component `{component}` returned an error: {message}")]
    Handler {
        /// The component's name.
        component: String,
        /// The string the component returned.
        message: String,
    },

    /// The component trapped.
    #[error("component `{component}` trapped: {reason}")]
    Trap {
        /// The component's name.
        component: String,
        /// The trap, e.g. `wasm \`unreachable\` instruction executed`.
        reason: String,
        /// wasmtime's error (with the guest's backtrace, where it has one); none when the
        /// crash was not wasmtime's to report (a panic in the host's own code).
        #[source]
        cause: Option<WasmtimeCause>,
    },

    /// The component used up its fuel for one message.
    #[error(
        "component `{component}` used up its fuel: max_fuel_per_execution = {limit} for one message"
    )]
    Fuel {
        /// The component's name.
        component: String,
        /// `max_fuel_per_execution` from the manifest.
        limit: u64,
    },

    /// One message took longer than `max_execution_time_ms`, or than what was left of its
    /// caller's time when the caller's deadline came with it (a request over a lattice).
    #[error(
        "component `{component}` timed out: one message took longer than {} (stopped after {elapsed:?})",
        limit_words(*.limit_ms, *.budget)
    )]
    Timeout {
        /// The component's name.
        component: String,
        /// The limit the message ran under, in ms: `max_execution_time_ms` from the
        /// manifest, or the caller's budget when that was less.
        limit_ms: u64,
        /// Whether `limit_ms` is the caller's budget rather than the manifest's limit.
        budget: bool,
        /// How long the message ran before it was stopped.
        elapsed: Duration,
    },

    /// The component tried to grow its memory past `max_memory`.
    #[error(
        "component `{component}` ran out of memory: it asked for {requested} bytes, past max_memory = {limit} bytes"
    )]
    Memory {
        /// The component's name.
        component: String,
        /// `max_memory` from the manifest, in bytes.
        limit: u64,
        /// The size the component tried to grow to, in bytes.
        requested: u64,
    },

    /// A capability the component was not granted. The guest gets it as an error value
    /// (`err("denied: ...")` from messaging); it is not a crash.
    #[error("`{component}` may not {what}")]
    Denied {
        /// The component's name.
        component: String,
        /// What was refused and why, e.g. ``send to `counter`: it is not in the manifest's
        /// capabilities.messaging``.
        what: String,
    },

    /// No component of that name runs in this host (nor, for a host on a lattice, on any
    /// host of it).
    #[error("no component named `{name}` is running")]
    NotFound {
        /// The name asked for.
        name: String,
    },

    /// The target's mailbox is full.
    #[error("component `{component}` is overloaded: its mailbox is full")]
    Overloaded {
        /// The target component.
        component: String,
    },

    /// The target was stopped, or its supervisor gave up.
    #[error("component `{component}` is stopped: {reason}")]
    Stopped {
        /// The target component.
        component: String,
        /// Why, as far as the host knows.
        reason: String,
    },

    /// A message or reply larger than the way it travels allows.
    #[error(
        "{what} for component `{component}` is {size} bytes, more than the {limit} bytes {by} allows"
    )]
    TooLarge {
        /// The component it was for (or from).
        component: String,
        /// What was too large: `the request body`, `the reply`, ...
        what: String,
        /// Its size in bytes (at least this much, when it was cut off while read).
        size: u64,
        /// The limit in bytes.
        limit: u64,
        /// What sets the limit: `http.max_request_body`, `lattice.max_payload`, ...
        by: String,
    },
}

impl Error {
    /// The error as a guest's `send` or `request` returns it: a callee's handled `err` as
    /// it is, anything else prefixed with its kind (`"denied: ..."`, `"timeout: ..."`).
    pub(crate) fn for_guest(self) -> String {
        match self {
            Error::Handler { message, .. } => message,
            other => format!("{}: {other}", other.kind()),
        }
    }

    /// The `timeout` of a message that ran out of its caller's `budget` (rather than of
    /// the component's own `max_execution_time_ms`) after `elapsed`.
    pub(crate) fn past_budget(component: &str, budget: Duration, elapsed: Duration) -> Error {
        Error::Timeout {
            component: component.to_string(),
            limit_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
            budget: true,
            elapsed,
        }
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Manifest(_) => ErrorKind::Manifest,
            Error::Component { .. } => ErrorKind::Component,
            Error::Link { .. } => ErrorKind::Link,
            Error::Handler { .. } => ErrorKind::Handler,
            Error::Trap { .. } => ErrorKind::Trap,
            Error::Fuel { .. } => ErrorKind::Fuel,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Memory { .. } => ErrorKind::Memory,
            Error::Denied { .. } => ErrorKind::Denied,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Overloaded { .. } => ErrorKind::Overloaded,
            Error::Stopped { .. } => ErrorKind::Stopped,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
        }
    }
}

fn limit_words(limit_ms: u64, budget: bool) -> String {
    if budget {
        format!("the {limit_ms} ms its caller had left")
    } else {
        format!("max_execution_time_ms = {limit_ms}")
    }
}

/// The host's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A wasmtime error kept as the cause of one of ours: the [`source`] of a `component`,
/// `link` or `trap` error. Cheap to clone (an `Arc` inside), so [`Error`] stays `Clone`.
///
/// Its `Display` is wasmtime's whole chain of causes on one line; [`get`](Self::get) gives
/// the `wasmtime::Error` itself, to downcast (for example to a [`wasmtime::Trap`]).
///
/// [`source`]: std::error::Error::source
#[derive(Clone)]
pub struct WasmtimeCause(Arc<wasmtime::Error>);

impl WasmtimeCause {
    /// Keeps `error` as a cause.
    pub fn new(error: wasmtime::Error) -> Self {
        WasmtimeCause(Arc::new(error))
    }

    /// The wasmtime error.
    pub fn get(&self) -> &wasmtime::Error {
        &self.0
    }
}

impl std::fmt::Display for WasmtimeCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::fmt::Debug for WasmtimeCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

/// The whole chain is in `Display`: no further source to walk.
impl std::error::Error for WasmtimeCause {}

impl From<wasmtime::Error> for WasmtimeCause {
    fn from(error: wasmtime::Error) -> Self {
        WasmtimeCause::new(error)
    }
}

/// `": cause"`, or nothing without a cause.
fn after_colon(cause: &Option<WasmtimeCause>) -> String {
    cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_and_exit_codes_follow_the_contract() {
        let table: Vec<(&str, i32)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.exit_code()))
            .collect();
        assert_eq!(
            table,
            vec![
                ("manifest", 2),
                ("component", 2),
                ("link", 2),
                ("handler", 1),
                ("trap", 3),
                ("fuel", 5),
                ("timeout", 4),
                ("memory", 6),
                ("denied", 2),
                ("not-found", 2),
                ("overloaded", 8),
                ("stopped", 8),
                ("too-large", 7),
            ]
        );
    }

    #[test]
    fn only_the_four_crash_kinds_restart() {
        let crashes: Vec<_> = ErrorKind::ALL.iter().filter(|k| k.is_crash()).collect();
        assert_eq!(
            crashes,
            [
                &ErrorKind::Trap,
                &ErrorKind::Fuel,
                &ErrorKind::Timeout,
                &ErrorKind::Memory
            ]
        );
    }
}
