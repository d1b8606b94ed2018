//! The row families, one module each. Every family measures ours and the baseline
//! interleaved (ours first in even batches, the baseline first in odd ones) and reports
//! the medians of the batches.

pub mod http;
pub mod lattice;
pub mod load;
pub mod native;
pub mod restart;
pub mod roundtrip;
pub mod rss;
pub mod spawn;
pub mod throughput;
pub mod timeout;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::Scratch;
pub use airssys_wasm_bench::setup::{host, host_config};

use crate::report::Report;

/// What a family's `run` returns: its rows, measured on the runtime it is spawned on.
pub type BoxReport = Pin<Box<dyn Future<Output = Result<Report>> + Send + 'static>>;

/// A family's `run`.
pub type Family = fn(Plan, Arc<Scratch>) -> BoxReport;

/// Which side a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Ours,
    Raw,
}

/// The diagnostics of `row` for what `who` (ours or raw) allocates per request: all its
/// heap allocations, and those over [`allocs::LARGE`](airssys_wasm_bench::allocs::LARGE)
/// bytes.
pub fn allocation_diags(report: &mut Report, row: &'static str, who: &str, all: f64, large: f64) {
    report.diag(row, format!("heap allocations, {who}"), all, "per request");
    report.diag(
        row,
        format!(
            "of them over {} B, {who}",
            airssys_wasm_bench::allocs::LARGE
        ),
        large,
        "per request",
    );
}

/// Ours first in even batches, the baseline first in odd ones.
pub fn order(batch: usize) -> [Side; 2] {
    if batch.is_multiple_of(2) {
        [Side::Ours, Side::Raw]
    } else {
        [Side::Raw, Side::Ours]
    }
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Whether this is a `--quick` run.
    pub quick: bool,
    /// Batches per side (the median of them is reported).
    pub batches: usize,
    /// Live actors for the RSS row.
    pub rss_actors: usize,
}

impl Plan {
    pub fn new(quick: bool) -> Plan {
        Plan {
            quick,
            batches: if quick { 7 } else { 15 },
            rss_actors: if quick { 1_000 } else { 10_000 },
        }
    }

    /// `quick` iterations in a quick run, `full` otherwise.
    pub fn iters(&self, quick: u64, full: u64) -> u64 {
        if self.quick { quick } else { full }
    }
}

/// Times `$iters` runs of `$body`; evaluates to the elapsed `Duration`.
macro_rules! timed {
    ($iters:expr, $body:expr) => {{
        let started = std::time::Instant::now();
        for _ in 0..$iters {
            $body;
        }
        started.elapsed()
    }};
}
pub(crate) use timed;
