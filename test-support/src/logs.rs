//! The `tracing` output of a test binary, captured once by a global subscriber ([`logs`]),
//! and the host's calls seen starting in it ([`calls_started`]).
//!
//! The host opens a `message` span (fields `component` and `topic`) when a component
//! starts handling a message, under the lock of its instance, on whichever task runs it
//! (the actor's or a direct caller's). Counting those spans gives tests an event for
//! "the component is running this message now", which no metric shows before the message
//! ends.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// Started calls per `(component, topic)`.
type Calls = Mutex<HashMap<(String, String), usize>>;

static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
static CALLS: OnceLock<Calls> = OnceLock::new();

/// The logs (debug and up), captured once for the whole test binary by a global `tracing`
/// subscriber, which also counts the calls the host starts ([`calls_started`]). Call it
/// before what is to be logged or counted happens; filter the lines by a marker unique to
/// the test.
pub fn logs() -> &'static Mutex<Vec<u8>> {
    LOGS.get_or_init(|| {
        let buffer: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::registry()
            .with(LevelFilter::DEBUG)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || Capture(buffer)),
            )
            .with(CallWatch);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

/// Whether [`logs`] has installed the capture in this test binary.
pub fn capturing() -> bool {
    LOGS.get().is_some()
}

/// The captured log lines that mention `component=<name>` (as a field of their own).
pub fn log_lines_of(name: &str) -> Vec<String> {
    let text = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    let tags = [format!("component={name}"), format!("component=\"{name}\"")];
    text.lines()
        .filter(|l| l.split_whitespace().any(|w| tags.iter().any(|t| t == w)))
        .map(str::to_string)
        .collect()
}

/// The captured log lines containing `marker` (markers are unique per test).
pub fn log_lines_with(marker: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains(marker))
        .map(str::to_string)
        .collect()
}

/// How many calls of `topic` the component `component` has started since [`logs`] was
/// first called (the host's `message` spans). Component names are unique per test.
pub fn calls_started(component: &str, topic: &str) -> usize {
    calls()
        .lock()
        .unwrap()
        .get(&(component.to_owned(), topic.to_owned()))
        .copied()
        .unwrap_or(0)
}

fn calls() -> &'static Calls {
    CALLS.get_or_init(Calls::default)
}

struct Capture(&'static Mutex<Vec<u8>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Counts the host's `message` spans by component and topic.
struct CallWatch;

impl<S: Subscriber> Layer<S> for CallWatch {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.name() != "message" || !meta.target().starts_with("airssys_wasm") {
            return;
        }
        let mut fields = CallFields::default();
        attrs.record(&mut fields);
        if let (Some(component), Some(topic)) = (fields.component, fields.topic) {
            *calls()
                .lock()
                .unwrap()
                .entry((component, topic))
                .or_default() += 1;
        }
    }
}

#[derive(Default)]
struct CallFields {
    component: Option<String>,
    topic: Option<String>,
}

impl Visit for CallFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here; their `Debug` is the value's `Display`.
        self.record(field, format!("{value:?}"));
    }
}

impl CallFields {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "component" => self.component = Some(value),
            "topic" => self.topic = Some(value),
            _ => {}
        }
    }
}
