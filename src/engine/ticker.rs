//! One epoch ticker for the whole host.
//!
//! Every engine's epoch is advanced by a single background thread, once per `tick`, but only
//! while at least one call is in flight: an idle host does not wake up. Each store's epoch
//! callback compares the wall clock with its message's deadline, so how far a spinning guest
//! runs past its deadline is bounded by the tick.
//!
//! Calls are counted per thread, each count on its own cache line: the count is written
//! twice per call, and one shared counter would bounce between the cores on every call.

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wasmtime::Engine;

/// Shards of the in-flight count.
const SHARDS: usize = 16;

/// One shard, alone on its cache line. A call may end on another thread than the one it
/// began on (a call moved to a task of its own), so a shard may go below zero; only the
/// sum of all shards means anything.
#[derive(Default)]
#[repr(align(128))]
struct Shard(AtomicIsize);

#[derive(Default)]
struct Shared {
    in_flight: [Shard; SHARDS],
    sleeping: AtomicBool,
    stop: AtomicBool,
    engines: Mutex<Vec<Engine>>,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

/// Drives the epochs of the host's engines. Dropping it stops the thread.
pub(crate) struct Ticker {
    shared: Arc<Shared>,
}

/// Marks one call in flight; the ticker keeps ticking while any guard lives.
pub(crate) struct CallGuard<'a> {
    shard: &'a Shard,
}

impl Shared {
    /// Calls in flight (sums the shards).
    fn in_flight(&self) -> isize {
        self.in_flight
            .iter()
            .map(|shard| shard.0.load(Ordering::SeqCst))
            .sum()
    }
}

/// This thread's shard.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|index| *index)
}

impl Ticker {
    /// Starts the ticker thread.
    pub(crate) fn start(tick: Duration) -> std::io::Result<Ticker> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("airssys-wasm-epoch".into())
            .spawn(move || run(&thread_shared, tick))?;
        Ok(Ticker { shared })
    }

    /// Adds an engine whose epoch this ticker advances.
    pub(crate) fn watch(&self, engine: Engine) {
        if let Ok(mut engines) = self.shared.engines.lock() {
            engines.push(engine);
        }
    }

    /// Marks a call in flight until the guard is dropped, waking the ticker if it slept.
    pub(crate) fn enter(&self) -> CallGuard<'_> {
        let shared = &*self.shared;
        let shard = &shared.in_flight[shard_index()];
        // SeqCst both here and in the ticker: either it sees this call, or this call sees
        // it asleep and wakes it.
        shard.0.fetch_add(1, Ordering::SeqCst);
        if shared.sleeping.load(Ordering::SeqCst) {
            let _lock = shared.wake_lock.lock();
            shared.sleeping.store(false, Ordering::SeqCst);
            shared.wake.notify_one();
        }
        CallGuard { shard }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.shard.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _lock = self.shared.wake_lock.lock();
        self.shared.sleeping.store(false, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared, tick: Duration) {
    // Ticks with no call in flight before the thread goes to sleep.
    const IDLE_TICKS: u32 = 64;
    let mut idle = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(tick);
        if let Ok(engines) = shared.engines.lock() {
            for engine in engines.iter() {
                engine.increment_epoch();
            }
        }
        if shared.in_flight() > 0 {
            idle = 0;
            continue;
        }
        idle += 1;
        if idle < IDLE_TICKS {
            continue;
        }
        let Ok(mut lock) = shared.wake_lock.lock() else {
            return;
        };
        shared.sleeping.store(true, Ordering::SeqCst);
        while shared.sleeping.load(Ordering::SeqCst)
            && shared.in_flight() <= 0
            && !shared.stop.load(Ordering::SeqCst)
        {
            lock = match shared.wake.wait(lock) {
                Ok(lock) => lock,
                Err(_) => return,
            };
        }
        shared.sleeping.store(false, Ordering::SeqCst);
        idle = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_the_epoch_only_while_calls_are_in_flight() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let ticker = Ticker::start(Duration::from_micros(200)).unwrap();
        ticker.watch(engine.clone());

        // Wait until the ticker has gone idle (64 ticks of 200 µs), then check it stays put.
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            ticker.shared.sleeping.load(Ordering::SeqCst),
            "the ticker should sleep when idle"
        );

        let guard = ticker.enter();
        assert!(!ticker.shared.sleeping.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(20));
        drop(guard);
        assert_eq!(ticker.shared.in_flight(), 0);
    }

    #[test]
    fn a_call_ended_on_another_thread_still_balances_the_count() {
        let ticker = Ticker::start(Duration::from_millis(1)).unwrap();
        let guards: Vec<_> = (0..4).map(|_| ticker.enter()).collect();
        assert_eq!(ticker.shared.in_flight(), 4);
        std::thread::scope(|scope| {
            for guard in guards {
                scope.spawn(move || drop(guard));
            }
            scope.spawn(|| drop(ticker.enter()));
        });
        assert_eq!(ticker.shared.in_flight(), 0);
    }
}
