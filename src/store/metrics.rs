//! Counters per component: what happened to its messages, read with [`Metrics::snapshot`].

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorKind;

/// Live counters of one component, shared by its actor, its stores and the host.
/// Survives restarts: the counts are per component name, not per instance.
#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) handled: AtomicU64,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) traps: AtomicU64,
    pub(crate) fuel_exhausted: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) memory_exhausted: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) denied: AtomicU64,
    pub(crate) fuel_consumed: AtomicU64,
    pub(crate) busy_nanos: AtomicU64,
    pub(crate) max_latency_nanos: AtomicU64,
    pub(crate) logs_dropped: AtomicU64,
    /// Calls by duration: `latency_buckets[i]` counts calls of at most
    /// `LATENCY_BUCKETS[i]` (and longer than the bound before); the last one, the rest.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// The kind of the last crash, as its index in [`ErrorKind::ALL`] plus one (0: none).
    last_crash: AtomicU8,
}

/// The upper bounds of the latency histogram's buckets, in seconds: from 10 µs (a direct
/// call) to 30 s (the longest time limit a manifest may usually ask for), about 2.5x apart.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

/// [`LATENCY_BUCKETS`] in nanoseconds, for the comparison on every call.
const LATENCY_BOUNDS_NANOS: [u64; 17] = {
    let mut nanos = [0; 17];
    let mut i = 0;
    while i < nanos.len() {
        nanos[i] = (LATENCY_BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    nanos
};

/// A copy of a component's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Messages whose call completed (with a reply or a handler error).
    pub handled: u64,
    /// Calls that returned `err(...)`.
    pub handler_errors: u64,
    /// Calls that trapped.
    pub traps: u64,
    /// Calls that used up their fuel.
    pub fuel_exhausted: u64,
    /// Calls stopped at their deadline.
    pub timeouts: u64,
    /// Calls that failed growing memory past `max_memory`.
    pub memory_exhausted: u64,
    /// Times the component was restarted.
    pub restarts: u64,
    /// Capabilities refused (messaging targets, network addresses and sockets, name lookups,
    /// filesystem writes through read-only grants and paths leaving a preopen).
    pub denied: u64,
    /// Fuel consumed over all calls.
    pub fuel_consumed: u64,
    /// Total time spent in calls.
    pub busy: Duration,
    /// The longest single call.
    pub max_latency: Duration,
    /// Log lines dropped because a message went past its budget
    /// ([`MAX_LOG_LINES_PER_MESSAGE`](crate::MAX_LOG_LINES_PER_MESSAGE)).
    pub logs_dropped: u64,
    /// Calls by duration, per bucket of [`LATENCY_BUCKETS`](crate::LATENCY_BUCKETS) (not cumulative); the last
    /// entry counts the calls longer than the largest bound.
    pub latency_buckets: [u64; LATENCY_BUCKETS.len() + 1],
}

impl MetricsSnapshot {
    /// All calls, whatever their outcome.
    pub fn calls(&self) -> u64 {
        self.handled + self.crashes()
    }

    /// Calls that crashed the component (trap, fuel, timeout, memory).
    pub fn crashes(&self) -> u64 {
        self.traps + self.fuel_exhausted + self.timeouts + self.memory_exhausted
    }

    /// Mean time per call.
    pub fn mean_latency(&self) -> Duration {
        match self.calls() {
            0 => Duration::ZERO,
            n => self.busy / u32::try_from(n).unwrap_or(u32::MAX),
        }
    }
}

impl Metrics {
    /// Records one finished call.
    pub(crate) fn record(&self, outcome: Option<ErrorKind>, fuel: u64, elapsed: Duration) {
        if let Some(kind) = outcome.filter(|kind| kind.is_crash())
            && let Some(index) = ErrorKind::ALL.iter().position(|k| *k == kind)
        {
            self.last_crash.store(index as u8 + 1, Ordering::Relaxed);
        }
        let counter = match outcome {
            None => &self.handled,
            Some(ErrorKind::Handler) => {
                self.handled.fetch_add(1, Ordering::Relaxed);
                &self.handler_errors
            }
            Some(ErrorKind::Fuel) => &self.fuel_exhausted,
            Some(ErrorKind::Timeout) => &self.timeouts,
            Some(ErrorKind::Memory) => &self.memory_exhausted,
            Some(_) => &self.traps,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.fuel_consumed.fetch_add(fuel, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
        // Read first: a new maximum is rare, and a read costs no locked instruction.
        if nanos > self.max_latency_nanos.load(Ordering::Relaxed) {
            self.max_latency_nanos.fetch_max(nanos, Ordering::Relaxed);
        }
        let bucket = LATENCY_BOUNDS_NANOS.partition_point(|&bound| bound < nanos);
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The kind of the component's last crash, if it ever crashed.
    pub fn last_crash(&self) -> Option<ErrorKind> {
        let code = self.last_crash.load(Ordering::Relaxed);
        ErrorKind::ALL
            .get(usize::from(code).checked_sub(1)?)
            .copied()
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            handled: get(&self.handled),
            handler_errors: get(&self.handler_errors),
            traps: get(&self.traps),
            fuel_exhausted: get(&self.fuel_exhausted),
            timeouts: get(&self.timeouts),
            memory_exhausted: get(&self.memory_exhausted),
            restarts: get(&self.restarts),
            denied: get(&self.denied),
            fuel_consumed: get(&self.fuel_consumed),
            busy: Duration::from_nanos(get(&self.busy_nanos)),
            max_latency: Duration::from_nanos(get(&self.max_latency_nanos)),
            logs_dropped: get(&self.logs_dropped),
            latency_buckets: std::array::from_fn(|i| get(&self.latency_buckets[i])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_lands_in_the_first_bucket_whose_bound_it_does_not_exceed() {
        let metrics = Metrics::default();
        for micros in [5, 10, 11, 40_000, 31_000_000] {
            metrics.record(None, 0, Duration::from_micros(micros));
        }
        let buckets = metrics.snapshot().latency_buckets;
        assert_eq!(buckets[0], 2, "5 µs and exactly 10 µs: {buckets:?}");
        assert_eq!(buckets[1], 1, "11 µs: {buckets:?}");
        assert_eq!(
            buckets[LATENCY_BUCKETS.iter().position(|&b| b == 0.05).unwrap()],
            1
        );
        assert_eq!(buckets[LATENCY_BUCKETS.len()], 1, "past 30 s: {buckets:?}");
        assert_eq!(buckets.iter().sum::<u64>(), 5);
    }
}
