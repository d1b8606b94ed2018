//! `airssys-wasm measure MANIFEST [--topic T] [--payload TEXT | --payload-file F] [--runs N] [--json]`

use std::path::PathBuf;
use std::time::Duration;

use airssys_wasm::{ComponentInstance, EngineConfig, Engines, Error, LoadedComponent, Manifest};

use super::{MessageArgs, report};

/// Headroom of the suggested limits over the largest figure measured.
const HEADROOM: f64 = 1.5;

/// The least `max_execution_time_ms` suggested: wall-clock time varies more than fuel (a
/// busy machine, a page fault), and a few milliseconds would time out on the first hiccup.
const MIN_TIME_MS: u64 = 10;

/// Run one message several times on one instance and report what it needs: peak linear
/// memory, fuel and time per message, and a `[resources]` section that fits them with 1.5x
/// headroom (and at least 10 ms of time).
///
/// The instance is created once, under the manifest's own limits, and keeps its state
/// between runs, as a component actor does. Instantiation and the first message are
/// reported apart from the rest (an interpreter's first message costs more); the limits
/// suggested cover all of them. A failing run ends the command as `call` would.
///
/// Example: `airssys-wasm measure examples/components/echo/Component.toml --payload hello`
#[derive(Debug, clap::Args)]
pub(crate) struct Measure {
    /// The component to measure.
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,
    #[command(flatten)]
    message: MessageArgs,
    /// How many times to run the message (at least 1).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// What one run (or the instantiation) cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// Linear memory held after it.
    memory: u64,
    fuel: u64,
    time: Duration,
}

/// Every figure measured.
struct Measured {
    component: String,
    start: Cost,
    runs: Vec<Cost>,
}

impl Measure {
    pub(crate) async fn run(self) -> i32 {
        let payload = match self.message.payload() {
            Ok(payload) => payload,
            Err(code) => return code,
        };
        let manifest = match Manifest::from_file(&self.manifest) {
            Ok(manifest) => manifest,
            Err(e) => return self.failed(&e.into()),
        };
        let stack = manifest.resources.max_stack;
        match self.measure(manifest, &payload).await {
            Ok(measured) => {
                let suggested = Suggested::from(&measured, stack);
                if self.json {
                    report::say!("{}", self.json_object(&measured, &suggested));
                } else {
                    report::write_stdout(
                        self.table(&measured, &suggested, payload.len()).as_bytes(),
                    );
                }
                0
            }
            Err(e) => self.failed(&e),
        }
    }

    async fn measure(&self, manifest: Manifest, payload: &[u8]) -> Result<Measured, Error> {
        let engines = Engines::new(EngineConfig::default());
        let loaded: std::sync::Arc<LoadedComponent> =
            LoadedComponent::load(&engines, manifest).await?;
        let component = loaded.name().to_string();
        let span = tracing::info_span!("measure", component = %component);
        let _enter = span.enter();
        let mut instance: ComponentInstance = loaded.instantiate(None).await?;
        let start = Cost {
            memory: instance.memory_size(),
            fuel: instance.start_fuel(),
            time: instance.start_time(),
        };
        let mut runs = Vec::with_capacity(self.runs as usize);
        for _ in 0..self.runs {
            let reply = instance.call(&self.message.topic, payload, None).await?;
            runs.push(Cost {
                memory: instance.memory_size(),
                fuel: reply.fuel_consumed,
                time: reply.elapsed,
            });
        }
        Ok(Measured {
            component,
            start,
            runs,
        })
    }

    fn failed(&self, error: &Error) -> i32 {
        if self.json {
            report::failure_json(error)
        } else {
            report::failure(error)
        }
    }

    fn table(&self, measured: &Measured, suggested: &Suggested, payload: usize) -> String {
        let mut out = format!(
            "component {}: {} run{} of topic {:?} ({payload}-byte payload), one instance\n\n",
            measured.component,
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.message.topic,
        );
        out.push_str(&format!(
            "{:<18} {:>14} {:>16} {:>12}\n",
            "", "memory", "fuel", "time"
        ));
        let mut line = |label: &str, cost: Cost| {
            out.push_str(&format!(
                "{label:<18} {:>14} {:>16} {:>12}\n",
                human_bytes(cost.memory),
                thousands(cost.fuel),
                human_time(cost.time),
            ));
        };
        line("instantiation", measured.start);
        line("first message", measured.runs[0]);
        if let Some(later) = Spread::of(&measured.runs[1..]) {
            line("later: min", later.min);
            line("later: median", later.median);
            line("later: max", later.max);
        }
        out.push_str(&format!(
            "\n# Fits the most measured above (instantiation included: it runs under the limits\n\
             # of one message) with {HEADROOM}x headroom, and at least {MIN_TIME_MS} ms of time.\n\
             # max_stack is not measured: it is the manifest's.\n\
             [resources]\n\
             max_memory = \"{}\"\n\
             max_stack = \"{}\"\n\
             max_fuel_per_execution = {}\n\
             max_execution_time_ms = {}\n",
            size_text(suggested.memory),
            size_text(suggested.stack),
            suggested.fuel,
            suggested.time_ms,
        ));
        out
    }

    fn json_object(&self, measured: &Measured, suggested: &Suggested) -> serde_json::Value {
        let cost = |cost: Cost| {
            serde_json::json!({
                "memory_bytes": cost.memory,
                "fuel": cost.fuel,
                "time_us": micros(cost.time),
            })
        };
        let later = Spread::of(&measured.runs[1..]).map(|spread| {
            serde_json::json!({
                "min": cost(spread.min),
                "median": cost(spread.median),
                "max": cost(spread.max),
            })
        });
        let peak = peak(measured);
        serde_json::json!({
            "ok": true,
            "component": measured.component,
            "topic": self.message.topic,
            "runs": self.runs,
            "instantiation": cost(measured.start),
            "first": cost(measured.runs[0]),
            "later": later,
            "peak": cost(peak),
            "headroom": HEADROOM,
            "suggested": {
                "max_memory": suggested.memory,
                "max_stack": suggested.stack,
                "max_fuel_per_execution": suggested.fuel,
                "max_execution_time_ms": suggested.time_ms,
            },
        })
    }
}

/// Minimum, median and maximum of each figure on its own.
struct Spread {
    min: Cost,
    median: Cost,
    max: Cost,
}

impl Spread {
    fn of(runs: &[Cost]) -> Option<Spread> {
        if runs.is_empty() {
            return None;
        }
        let mut memory: Vec<u64> = runs.iter().map(|c| c.memory).collect();
        let mut fuel: Vec<u64> = runs.iter().map(|c| c.fuel).collect();
        let mut time: Vec<Duration> = runs.iter().map(|c| c.time).collect();
        memory.sort_unstable();
        fuel.sort_unstable();
        time.sort_unstable();
        let at = |i: usize| Cost {
            memory: memory[i],
            fuel: fuel[i],
            time: time[i],
        };
        Some(Spread {
            min: at(0),
            median: at(runs.len() / 2),
            max: at(runs.len() - 1),
        })
    }
}

/// The most of each figure over the instantiation and every run.
fn peak(measured: &Measured) -> Cost {
    std::iter::once(measured.start)
        .chain(measured.runs.iter().copied())
        .fold(
            Cost {
                memory: 0,
                fuel: 0,
                time: Duration::ZERO,
            },
            |a, b| Cost {
                memory: a.memory.max(b.memory),
                fuel: a.fuel.max(b.fuel),
                time: a.time.max(b.time),
            },
        )
}

/// The `[resources]` suggested.
struct Suggested {
    memory: u64,
    stack: u64,
    fuel: u64,
    time_ms: u64,
}

impl Suggested {
    fn from(measured: &Measured, stack: u64) -> Suggested {
        let peak = peak(measured);
        Suggested {
            // Whole MiB: memories grow by 64 KiB pages, and a MiB more is cheap.
            memory: round_up(with_headroom(peak.memory).max(1), 1 << 20),
            stack,
            fuel: two_digits_up(with_headroom(peak.fuel).max(1)),
            time_ms: with_headroom(u64::try_from(peak.time.as_millis()).unwrap_or(u64::MAX) + 1)
                .max(MIN_TIME_MS),
        }
    }
}

/// `value` times the headroom, rounded up.
fn with_headroom(value: u64) -> u64 {
    // Exact for any figure a component reaches (below 2^53); saturates beyond.
    (value as f64 * HEADROOM).ceil() as u64
}

fn round_up(value: u64, step: u64) -> u64 {
    value.div_ceil(step).saturating_mul(step)
}

/// Rounded up to two significant digits: 123,456 is 130,000.
fn two_digits_up(value: u64) -> u64 {
    let mut step = 1;
    while value / step >= 100 {
        step *= 10;
    }
    round_up(value, step)
}

fn micros(time: Duration) -> u64 {
    u64::try_from(time.as_micros()).unwrap_or(u64::MAX)
}

/// A size in the manifest's units.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}KiB", b >> 10),
        b => format!("{b}B"),
    }
}

fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn human_time(time: Duration) -> String {
    if time >= Duration::from_millis(1) {
        format!("{:.2} ms", time.as_secs_f64() * 1e3)
    } else {
        format!("{} µs", micros(time))
    }
}

/// 1234567 as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_two_significant_digits_and_whole_units() {
        assert_eq!(two_digits_up(123_456), 130_000);
        assert_eq!(two_digits_up(99), 99);
        assert_eq!(two_digits_up(100), 100);
        assert_eq!(two_digits_up(101), 110);
        assert_eq!(round_up((1 << 20) + 1, 1 << 20), 2 << 20);
        assert_eq!(with_headroom(10), 15);
        assert_eq!(with_headroom(11), 17);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(size_text(3 << 20), "3MiB");
        assert_eq!(size_text(512 << 10), "512KiB");
    }
}
