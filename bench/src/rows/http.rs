//! `http_hello_rps` and `http_hello_p99`: the http-hello proxy component's `/hello` served
//! by ours (a host file's route, through `serve::Service`) beside the raw baseline (a
//! minimal hyper server over `ProxyPre`, same engine settings, a fresh instance per
//! request), under load from `wrk`. The servers run in child processes of this binary
//! (`__http`, each serving both sides) pinned to core 0; `wrk` runs pinned to core 1. The
//! rows load both sides at the same time, one child each (see [`run`]).

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use airssys_wasm::Allocation;
use airssys_wasm::manifest::HostFile;
use airssys_wasm::serve::Service;
use airssys_wasm_bench::guests::{self, Scratch};
use airssys_wasm_bench::{Result, allocs};

use super::{Plan, Side, allocation_diags, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

/// The hidden subcommand that runs both servers.
pub const CHILD: &str = "__http";

/// The proxy component's limits on both sides.
const FUEL: u64 = 50_000_000;
const TIME: Duration = Duration::from_secs(2);

/// Connections wrk keeps open: enough to keep the server's core busy. With 16, that core
/// sat idle about a third of the time on a 2-core VM (each request a wake-up of a halted
/// virtual CPU), so the rate measured the hypervisor's wake-up latency, which swung 3x
/// within seconds, more than either server.
const CONNECTIONS: &str = "64";

/// One wrk run: requests per second and the 99th percentile latency in microseconds.
struct Load {
    rps: f64,
    p99_us: f64,
    /// Requests answered in the run.
    requests: f64,
}

/// A child process serving both sides (`__http`), pinned to core 0.
struct Servers {
    process: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    ours: String,
    raw: String,
}

impl Servers {
    fn start() -> Result<Servers> {
        let mut process = Command::new("taskset")
            .args(["-c", "0"])
            .arg(std::env::current_exe()?)
            .arg(CHILD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (stdin, stdout) = (process.stdin.take(), process.stdout.take());
        let Some(mut stdout) = stdout.map(BufReader::new) else {
            let _ = process.kill();
            return Err("the http child has no stdout".into());
        };
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let mut addresses = line.split_whitespace().map(str::to_string);
        let (Some(ours), Some(raw)) = (addresses.next(), addresses.next()) else {
            let _ = process.kill();
            return Err(format!("the http child printed {line:?}, not two addresses").into());
        };
        Ok(Servers {
            process,
            stdin,
            stdout,
            ours,
            raw,
        })
    }

    fn address(&self, side: &Side) -> &str {
        match side {
            Side::Ours => &self.ours,
            Side::Raw => &self.raw,
        }
    }

    /// What `side` allocates per request: all allocations and those over 1 KiB, counted in
    /// the child over a wrk run apart from the timed ones.
    fn allocations(&mut self, side: &Side) -> Result<(f64, f64)> {
        let address = self.address(side).to_string();
        let Some(input) = self.stdin.as_mut() else {
            return Err("the http child's stdin is closed".into());
        };
        input.write_all(b"count\n")?;
        let load = wrk(&address, "1")?;
        input.write_all(b"counted\n")?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let mut counts = line.split_whitespace().map(str::parse::<f64>);
        let (Some(Ok(all)), Some(Ok(large))) = (counts.next(), counts.next()) else {
            return Err(format!("the http child counted {line:?}").into());
        };
        let requests = load.requests.max(1.0);
        Ok((all / requests, large / requests))
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Runs two children and wrk, and builds the rows.
///
/// The two sides are loaded at the same time, each in a child of its own, both children
/// on core 0 and both wrk processes on core 1: the core is shared, so each side's rate is
/// what its cost per request earns it of the same core in the same seconds. Run one after
/// the other, a side's rate on this VM moved by up to 20% between runs seconds apart,
/// more than the difference measured; at the same time, both get the same machine. The
/// rounds swap which child serves which side and which wrk starts first. Each side alone
/// (its whole core) is measured too: its rate as a diagnostic, its p99 for the latency
/// row.
///
/// # Errors
///
/// When a child cannot start. Without `wrk` or `taskset` the rows are reported not
/// measured, with a note.
pub fn run(plan: Plan) -> Result<Report> {
    let mut report = Report::default();
    for tool in ["wrk", "taskset"] {
        if Command::new(tool).arg("--version").output().is_err() {
            report.notes.push(format!(
                "http_hello_*: not measured: `{tool}` is not installed (scripts/bench installs it)"
            ));
            return Ok(report);
        }
    }
    let mut children = [Servers::start()?, Servers::start()?];
    let seconds = if plan.quick { "1" } else { "3" };
    // Eight rounds: the four combinations of (which child serves ours, which side starts
    // first), twice.
    let rounds = if plan.quick { 4 } else { 8 };
    // Each round: ours and raw, loaded at once.
    let mut rounds_run: Vec<(Load, Load)> = Vec::new();
    // A warm-up round for each side of each child.
    for child in &children {
        for side in [Side::Ours, Side::Raw] {
            wrk(child.address(&side), "1")?;
        }
    }
    for round in 0..rounds {
        let (ours_child, raw_child) = (&children[round % 2], &children[(round + 1) % 2]);
        let (ours, raw) = in_order(order(round / 2), |side| {
            let child = match side {
                Side::Ours => ours_child,
                Side::Raw => raw_child,
            };
            Wrk::start(child.address(&side), seconds)
        })?;
        rounds_run.push((ours.finish()?, raw.finish()?));
    }
    // Each side alone, its whole core: interleaved pairs in one child. The latency row
    // comes from these: at the same time, each side's p99 is the scheduler's time slice
    // on the shared core (milliseconds) more than its own.
    let alone = if plan.quick { 2 } else { 5 };
    let mut alone_pairs = (0..alone)
        .map(|batch| {
            in_order(order(batch), |side| {
                wrk(children[0].address(&side), seconds)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for (who, side) in [("ours", Side::Ours), ("raw", Side::Raw)] {
        let (all, large) = children[0].allocations(&side)?;
        allocation_diags(&mut report, "http_hello_rps", who, all, large);
    }
    drop(children);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // The row is the median round by its ratio: the rates swing from round to round with
    // the machine, both sides alike, so a median of each side's rates apart could pair a
    // fast round's with a slow one's.
    let rate = |ours: &Load, raw: &Load| ours.rps / raw.rps;
    let (ours, raw) = median_pair(&mut rounds_run, rate);
    let (median_ours, median_raw) = (ours.rps, raw.rps);
    let (lowest, highest) = (&rounds_run[0], &rounds_run[rounds_run.len() - 1]);
    report.diag(
        "http_hello_rps",
        "ours/raw, lowest round",
        rate(&lowest.0, &lowest.1),
        "x",
    );
    report.diag(
        "http_hello_rps",
        "ours/raw, highest round",
        rate(&highest.0, &highest.1),
        "x",
    );
    report.diag(
        "http_hello_rps",
        "ours alone",
        median(alone_pairs.iter().map(|(ours, _)| ours.rps).collect()),
        "req/s",
    );
    report.diag(
        "http_hello_rps",
        "raw alone",
        median(alone_pairs.iter().map(|(_, raw)| raw.rps).collect()),
        "req/s",
    );
    report.rows.push(Row {
        name: "http_hello_rps",
        unit: "req/s",
        ours: median_ours,
        raw: median_raw,
        better: Better::Higher,
        // At least 0.9x raw's rate: raw/ours at most 1/0.9 (1.111...), written 1.11.
        target: Target::Ratio(1.11),
    });
    // The latency row: the median pair by its ratio, for the reason the rate row takes the
    // median round.
    let (ours_p99, raw_p99) = median_pair(&mut alone_pairs, |ours, raw| raw.p99_us / ours.p99_us);
    report.rows.push(Row {
        name: "http_hello_p99",
        unit: "µs",
        ours: ours_p99.p99_us,
        raw: raw_p99.p99_us,
        better: Better::Lower,
        target: Target::Ratio(1.2),
    });
    report.notes.push(format!(
        "http_hello_rps: both sides at once, each in a child of its own on core 0 (sharing it), each loaded by wrk -t1 -c{CONNECTIONS} -d{seconds}s on core 1, {rounds} rounds swapping children and start order, the median round by ours/raw; http_hello_p99: each side alone on core 0, {alone} interleaved pairs, the median pair by ours/raw (the rates alone: medians); a fresh instance per request on both sides"
    ));
    Ok(report)
}

/// Runs `run` for each side in `order`; returns ours' result and raw's.
fn in_order<T>(order: [Side; 2], mut run: impl FnMut(Side) -> Result<T>) -> Result<(T, T)> {
    let [first, second] = order;
    let (a, b) = (run(first)?, run(second)?);
    Ok(match first {
        Side::Ours => (a, b),
        Side::Raw => (b, a),
    })
}

/// The median of `pairs` (ours', raw's) by `standing`, ours' against raw's (higher: better
/// for ours); of an even count, the one of the two middle ones worse for ours. Sorts
/// `pairs` by it.
fn median_pair(pairs: &mut [(Load, Load)], standing: fn(&Load, &Load) -> f64) -> (&Load, &Load) {
    pairs.sort_by(|a, b| standing(&a.0, &a.1).total_cmp(&standing(&b.0, &b.1)));
    let (ours, raw) = &pairs[(pairs.len() - 1) / 2];
    (ours, raw)
}

/// A wrk run under way.
struct Wrk {
    process: std::process::Child,
    address: String,
}

impl Wrk {
    /// Starts wrk against `address`'s `/hello` for `seconds`.
    fn start(address: &str, seconds: &str) -> Result<Wrk> {
        let process = Command::new("taskset")
            .args(["-c", "1", "wrk", "-t1", "-c", CONNECTIONS, "-d"])
            .arg(format!("{seconds}s"))
            .arg("--latency")
            .arg(format!("http://{address}/hello"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(Wrk {
            process,
            address: address.to_string(),
        })
    }

    /// Waits for the run and reads its figures.
    fn finish(self) -> Result<Load> {
        let output = self.process.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let rps = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok());
        let p99 = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("99%"))
            .and_then(|v| micros(v.trim()));
        let errors = text
            .lines()
            .any(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
        // `  12345 requests in 1.00s, 1.23MB read`
        let requests = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok());
        match (rps, p99, requests) {
            (Some(rps), Some(p99_us), Some(requests)) if !errors => Ok(Load {
                rps,
                p99_us,
                requests,
            }),
            _ => Err(format!("wrk against {} gave:\n{text}", self.address).into()),
        }
    }
}

/// One wrk run against `address`'s `/hello`, alone.
fn wrk(address: &str, seconds: &str) -> Result<Load> {
    Wrk::start(address, seconds)?.finish()
}

/// wrk's `1.23ms`, `456.78us`, `1.01s` in microseconds.
fn micros(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The child: serves ours and raw, prints `OURS RAW`, and runs until its stdin closes.
pub fn child() -> ExitCode {
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(Into::into)
        .and_then(|rt| rt.block_on(serve_both()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_both() -> Result<()> {
    let scratch = Scratch::new()?;
    let wasm = guests::wasm("http-hello")?;
    // The allocation `airssys-wasm serve` picks (the raw side takes the same engine
    // settings below).
    let config = host_config(&scratch).allocation(Allocation::serving(4 << 30));
    let (_system, host, _supervisor) = host(config).await?;
    let resources = format!(
        "max_memory = \"32MiB\"\nmax_stack = \"1MiB\"\nmax_fuel_per_execution = {FUEL}\nmax_execution_time_ms = {}",
        TIME.as_millis()
    );
    scratch.manifest("web", &wasm, &resources, "")?;
    let file = scratch.write(
        "host.toml",
        b"[components]\nweb = \"web.toml\"\n\n[supervisors.bench]\nchildren = [\"web\"]\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[[http.route]]\npath = \"/...\"\ncomponent = \"web\"\n",
    )?;
    let file = HostFile::from_file(&file).map_err(|e| format!("{e:?}"))?;
    let service = Service::start(&host, &file)
        .await
        .map_err(|e| e.to_string())?;
    let ours = service.http_address().ok_or("no http listener")?;
    let config = host.engine().wasmtime_config(1 << 20)?;
    let engine = airssys_wasm_bench::raw::RawEngine::new(&config)?;
    let raw =
        airssys_wasm_bench::raw_http::serve(engine.engine().clone(), &wasm, FUEL, TIME).await?;
    println!("{ours} {raw}");
    // Until the parent closes stdin (or kills this process); `count` and `counted` start
    // and stop counting allocations (`counted` prints `ALLOCATIONS LARGE`).
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            match line.trim() {
                "count" => allocs::start(),
                "counted" => {
                    let counted = allocs::stop();
                    println!("{} {}", counted.allocations, counted.large);
                }
                _ => return,
            }
            line.clear();
        }
    })
    .await?;
    drop(engine);
    Ok(())
}
