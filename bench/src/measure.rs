//! Measuring: medians of batches, ours and raw interleaved, and the process's memory.

use std::future::Future;
use std::time::Duration;

use crate::Result;

/// Per-batch figures of the two sides of one comparison.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// Ours, one figure per batch.
    pub ours: Vec<f64>,
    /// The baseline, one figure per batch.
    pub raw: Vec<f64>,
}

impl Samples {
    /// The median of ours.
    pub fn ours(&self) -> f64 {
        median(&self.ours)
    }

    /// The median of the baseline.
    pub fn raw(&self) -> f64 {
        median(&self.raw)
    }
}

/// The median (the mean of the middle two for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Nanoseconds per iteration.
pub fn ns_per(elapsed: Duration, iterations: u64) -> f64 {
    elapsed.as_nanos() as f64 / iterations.max(1) as f64
}

/// Microseconds per iteration.
pub fn us_per(elapsed: Duration, iterations: u64) -> f64 {
    ns_per(elapsed, iterations) / 1e3
}

/// Iterations per second.
pub fn per_second(elapsed: Duration, iterations: u64) -> f64 {
    iterations as f64 / elapsed.as_secs_f64()
}

/// Runs `fut` as a task on one of `rt`'s worker threads (not on the blocking caller, whose
/// every wake-up would be a cross-thread hop) and waits for it.
///
/// # Errors
///
/// The task's error, or its panic.
pub fn on_worker<T, F>(rt: &tokio::runtime::Runtime, fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    rt.block_on(async move { tokio::spawn(fut).await? })
}

/// The process's resident set, in KiB (`VmRSS` of `/proc/self/status`).
///
/// # Errors
///
/// When `/proc/self/status` cannot be read.
pub fn rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

/// How many memory mappings the process has (lines of `/proc/self/maps`).
///
/// # Errors
///
/// When `/proc/self/maps` cannot be read.
pub fn map_count() -> Result<u64> {
    Ok(std::fs::read_to_string("/proc/self/maps")?.lines().count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn reads_its_own_memory() {
        assert!(rss_kib().unwrap() > 0);
        assert!(map_count().unwrap() > 0);
    }
}
