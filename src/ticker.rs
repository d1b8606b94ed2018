//! One epoch ticker for the whole host.
//!
//! Every engine's epoch is advanced by a single background thread, once per `tick`, but only
//! while at least one call is in flight: an idle host does not wake up. Each store's epoch
//! callback compares the wall clock with its message's deadline, so how far a spinning guest
//! runs past its deadline is bounded by the tick.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wasmtime::Engine;

#[derive(Default)]
struct Shared {
    in_flight: AtomicUsize,
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
    shared: &'a Shared,
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
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        if shared.sleeping.load(Ordering::SeqCst) {
            let _lock = shared.wake_lock.lock();
            shared.sleeping.store(false, Ordering::SeqCst);
            shared.wake.notify_one();
        }
        CallGuard { shared }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
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
        if shared.in_flight.load(Ordering::SeqCst) > 0 {
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
            && shared.in_flight.load(Ordering::SeqCst) == 0
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
        assert_eq!(ticker.shared.in_flight.load(Ordering::SeqCst), 0);
    }
}
