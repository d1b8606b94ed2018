//! The telemetry layer: what a host reports about itself (contract section 7).
//!
//! [`Telemetry`] keeps a Prometheus registry (`prometheus-client`): the host's
//! per-component counters are read at each scrape by a collector ([`Host::metrics`] and
//! [`Host::mailbox_depth`], so the message path records into its own atomics and never
//! takes a lock for the exposition), and the HTTP layer's request counter lives in the
//! registry itself. [`Health`] says whether the process serves (`/healthz`) and whether it
//! is ready (`/readyz`): every component started, no top-level supervisor given up, not
//! draining.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use airssys_wasm::telemetry::Telemetry;
//! use airssys_wasm::{EngineConfig, Host};
//! use airssys_wasm_actors::{ActorSystem, SystemConfig};
//!
//! let system = ActorSystem::new(SystemConfig::default());
//! let host = Host::start(&system, EngineConfig::default()).await?;
//! let telemetry = Telemetry::new(&host);
//! telemetry.http_request("hello", 200);
//! assert!(telemetry.encode()?.contains("airssys_http_requests_total{component=\"hello\",status=\"200\"} 1"));
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use airssys_wasm_actors::SupervisorRef;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::host::Host;
use crate::store::metrics::{LATENCY_BUCKETS, MetricsSnapshot};

/// The labels of `airssys_http_requests_total`: the component and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct HttpLabels {
    component: String,
    status: u16,
}

/// A host's metrics registry and its health. Share it with `Arc`.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    health: Health,
}

impl Telemetry {
    /// A registry reporting `host`'s components, with an empty HTTP request counter.
    pub fn new(host: &Host) -> Telemetry {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "airssys_http_requests",
            "HTTP requests answered, by the component routed to and the status code",
            http_requests.clone(),
        );
        registry.register_collector(Box::new(HostCollector { host: host.clone() }));
        Telemetry {
            registry,
            http_requests,
            health: Health::default(),
        }
    }

    /// Counts one HTTP request to `component` answered with `status`.
    pub fn http_request(&self, component: &str, status: u16) {
        self.http_requests
            .get_or_create(&HttpLabels {
                component: component.to_string(),
                status,
            })
            .inc();
    }

    /// The registry in the Prometheus (OpenMetrics) text format: what `GET /metrics`
    /// answers, with [`CONTENT_TYPE`].
    ///
    /// # Errors
    ///
    /// Only when formatting fails, which writing to a `String` does not.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// Whether the host serves and is ready.
    pub fn health(&self) -> &Health {
        &self.health
    }
}

/// The content type of [`Telemetry::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Readiness: set started once the tree is up, draining once a stop began; ready while
/// started, not draining and every top-level supervisor alive.
#[derive(Default)]
pub struct Health {
    started: AtomicBool,
    draining: AtomicBool,
    supervisors: Mutex<Vec<SupervisorRef>>,
    /// Further conditions (a lattice joined), each with what `/readyz` says while it fails.
    requirements: Mutex<Vec<(String, Requirement)>>,
}

/// A condition readiness waits for.
pub type Requirement = Box<dyn Fn() -> bool + Send + Sync>;

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("started", &self.started)
            .field("draining", &self.draining)
            .finish_non_exhaustive()
    }
}

impl Health {
    /// Every component has started: `supervisors` are the tree's top level, watched from now on.
    pub fn set_started(&self, supervisors: Vec<SupervisorRef>) {
        if let Ok(mut watched) = self.supervisors.lock() {
            *watched = supervisors;
        }
        self.started.store(true, Ordering::SeqCst);
    }

    /// Readiness also waits for `holds`; while it does not, `/readyz` says `unmet`
    /// (for example `lattice not joined`).
    pub fn require(&self, unmet: impl Into<String>, holds: Requirement) {
        if let Ok(mut requirements) = self.requirements.lock() {
            requirements.push((unmet.into(), holds));
        }
    }

    /// The host stops taking new work.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the host is draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// `Ok` when ready; otherwise why not (what `/readyz` answers with 503).
    ///
    /// # Errors
    ///
    /// The reason it is not ready: still starting, draining, or the top-level supervisors
    /// that gave up.
    pub fn readiness(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining".into());
        }
        if !self.started.load(Ordering::SeqCst) {
            return Err("starting".into());
        }
        if let Ok(requirements) = self.requirements.lock()
            && let Some((unmet, _)) = requirements.iter().find(|(_, holds)| !holds())
        {
            return Err(unmet.clone());
        }
        let watched = self
            .supervisors
            .lock()
            .map_err(|_| "the readiness state is poisoned".to_string())?;
        let gone: Vec<&str> = watched
            .iter()
            .filter(|s| !s.is_alive())
            .map(SupervisorRef::label)
            .collect();
        if gone.is_empty() {
            Ok(())
        } else {
            Err(format!("supervisor gave up: {}", gone.join(", ")))
        }
    }
}

/// Reads the host's counters at each scrape.
#[derive(Debug)]
struct HostCollector {
    host: Host,
}

/// How to read one value from a component's counters.
type Read = fn(&MetricsSnapshot) -> u64;

/// `airssys_messages_total`'s outcomes and how to read each from a snapshot.
const OUTCOMES: [(&str, Read); 6] = [
    // Saturating: a snapshot taken while a handler error is being counted may read its
    // `handler_errors` before `handled`.
    ("ok", |m| m.handled.saturating_sub(m.handler_errors)),
    ("handler", |m| m.handler_errors),
    ("trap", |m| m.traps),
    ("fuel", |m| m.fuel_exhausted),
    ("timeout", |m| m.timeouts),
    ("memory", |m| m.memory_exhausted),
];

impl Collector for HostCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut names = self.host.components();
        names.sort();
        let components: Vec<(String, MetricsSnapshot, usize)> = names
            .into_iter()
            .filter_map(|name| {
                let snapshot = self.host.metrics(&name).ok()?;
                let depth = self.host.mailbox_depth(&name).unwrap_or(0);
                Some((name, snapshot, depth))
            })
            .collect();

        let mut family = encoder.encode_descriptor(
            "airssys_messages",
            "Messages handled, by component and outcome (ok, or the error kind)",
            None,
            MetricType::Counter,
        )?;
        for (name, snapshot, _) in &components {
            for (outcome, read) in OUTCOMES {
                let labels = [("component", name.as_str()), ("outcome", outcome)];
                ConstCounter::new(read(snapshot)).encode(family.encode_family(&labels)?)?;
            }
        }
        let counters: [(&str, &str, Read); 3] = [
            ("airssys_restarts", "Times a component was restarted", |m| {
                m.restarts
            }),
            (
                "airssys_fuel_consumed",
                "Fuel consumed by a component's calls",
                |m| m.fuel_consumed,
            ),
            (
                "airssys_denied",
                "Capabilities refused to a component",
                |m| m.denied,
            ),
        ];
        for (metric, help, read) in counters {
            let mut family = encoder.encode_descriptor(metric, help, None, MetricType::Counter)?;
            for (name, snapshot, _) in &components {
                let labels = [("component", name.as_str())];
                ConstCounter::new(read(snapshot)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "airssys_message_duration_seconds",
            "How long a component's calls took",
            None,
            MetricType::Histogram,
        )?;
        for (name, snapshot, _) in &components {
            let labels = [("component", name.as_str())];
            let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
            for (bound, count) in LATENCY_BUCKETS
                .iter()
                .chain([&f64::MAX])
                .zip(snapshot.latency_buckets)
            {
                buckets.push((*bound, count));
            }
            let count = snapshot.latency_buckets.iter().sum();
            family
                .encode_family(&labels)?
                .encode_histogram::<HttpLabels>(
                    snapshot.busy.as_secs_f64(),
                    count,
                    &buckets,
                    None,
                )?;
        }
        let mut family = encoder.encode_descriptor(
            "airssys_mailbox_depth",
            "Messages waiting in a component's mailbox",
            None,
            MetricType::Gauge,
        )?;
        for (name, _, depth) in &components {
            let labels = [("component", name.as_str())];
            ConstGauge::new(i64::try_from(*depth).unwrap_or(i64::MAX))
                .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
