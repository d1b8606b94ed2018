//! The per-store resource limiter: memory from the manifest, and a record of refused growth.
//!
//! A refused `memory.grow` returns -1 to the guest, as the wasm spec says; most guests then
//! trap (Rust aborts on allocation failure). The limiter remembers the refusal so the
//! executor reports such a trap as a `memory` error rather than a plain `trap`.

use wasmtime::ResourceLimiter;

/// Tables and instances a single component may create; generous for any real toolchain.
const MAX_TABLES: usize = 64;
const MAX_INSTANCES: usize = 256;
const MAX_MEMORIES: usize = 16;
/// Elements one table may hold.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Enforces `max_memory` (summed over the component's memories) and bounds tables and
/// instances.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    max_memory: u64,
    /// Bytes currently held per memory is not tracked by wasmtime for us, so we keep the
    /// total of granted growth.
    granted: u64,
    /// The size a refused growth asked for, since the last [`MemoryLimiter::take_refusal`].
    refused: Option<u64>,
}

impl MemoryLimiter {
    pub(crate) fn new(max_memory: u64) -> MemoryLimiter {
        MemoryLimiter {
            max_memory,
            granted: 0,
            refused: None,
        }
    }

    /// The refused growth recorded since the last call, if any; clears the record.
    pub(crate) fn take_refusal(&mut self) -> Option<u64> {
        self.refused.take()
    }

    /// The bytes of linear memory granted so far.
    pub(crate) fn granted(&self) -> u64 {
        self.granted
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current) as u64;
        let total = self.granted.saturating_add(growth);
        if total > self.max_memory {
            self.refused = Some(total);
            tracing::debug!(
                requested = total,
                limit = self.max_memory,
                "refused memory growth"
            );
            return Ok(false);
        }
        self.granted = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_up_to_the_limit_and_records_the_refusal() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 512 << 10, None).unwrap());
        assert!(limiter.memory_growing(512 << 10, 1 << 20, None).unwrap());
        assert_eq!(limiter.take_refusal(), None);
        assert!(
            !limiter
                .memory_growing(1 << 20, (1 << 20) + 65536, None)
                .unwrap()
        );
        assert_eq!(limiter.take_refusal(), Some((1 << 20) + 65536));
        assert_eq!(
            limiter.take_refusal(),
            None,
            "the record is cleared once taken"
        );
        assert_eq!(limiter.granted(), 1 << 20);
    }

    #[test]
    fn memories_count_together() {
        let mut limiter = MemoryLimiter::new(100 << 10);
        assert!(limiter.memory_growing(0, 64 << 10, None).unwrap());
        assert!(
            !limiter.memory_growing(0, 64 << 10, None).unwrap(),
            "a second memory shares the budget"
        );
    }
}
