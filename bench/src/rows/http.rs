//! `http_hello_rps` and `http_hello_p99`: the http-hello proxy component's `/hello` served
//! by ours (a host file's route, through `serve::Service`) beside the raw baseline (a
//! minimal hyper server over `ProxyPre`, same engine settings, a fresh instance per
//! request), under load from `wrk`. Both servers run in a child process of this binary
//! (`__http`) pinned to core 0; `wrk` runs pinned to core 1, one side at a time, the
//! sides interleaved batch by batch.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use airssys_wasm::Allocation;
use airssys_wasm::manifest::HostFile;
use airssys_wasm::serve::Service;
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::{self, Scratch};

use super::{Plan, Side, host, host_config, order};
use crate::report::{Better, Report, Row, Target};

/// The hidden subcommand that runs both servers.
pub const CHILD: &str = "__http";

/// The proxy component's limits on both sides.
const FUEL: u64 = 50_000_000;
const TIME: Duration = Duration::from_secs(2);

/// Connections wrk keeps open.
const CONNECTIONS: &str = "16";

/// One wrk run: requests per second and the 99th percentile latency in microseconds.
struct Load {
    rps: f64,
    p99_us: f64,
}

/// Runs the child and wrk, and builds the rows.
///
/// # Errors
///
/// When the child cannot start. Without `wrk` or `taskset` the rows are reported not
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
    let mut child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(std::env::current_exe()?)
        .arg(CHILD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut line)?;
    }
    let mut addresses = line.split_whitespace();
    let (Some(ours), Some(raw)) = (addresses.next(), addresses.next()) else {
        let _ = child.kill();
        return Err(format!("the http child printed {line:?}, not two addresses").into());
    };
    let seconds = if plan.quick { "1" } else { "3" };
    let batches = if plan.quick { 3 } else { 5 };
    let (mut ours_loads, mut raw_loads) = (Vec::new(), Vec::new());
    // A warm-up round for each side.
    for address in [ours, raw] {
        wrk(address, "1")?;
    }
    for batch in 0..batches {
        for side in order(batch) {
            match side {
                Side::Ours => ours_loads.push(wrk(ours, seconds)?),
                Side::Raw => raw_loads.push(wrk(raw, seconds)?),
            }
        }
    }
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = child.kill();
    let _ = child.wait();
    let median = |loads: &[Load], f: fn(&Load) -> f64| {
        let mut v: Vec<f64> = loads.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    report.rows.push(Row {
        name: "http_hello_rps",
        unit: "req/s",
        ours: median(&ours_loads, |l| l.rps),
        raw: median(&raw_loads, |l| l.rps),
        better: Better::Higher,
        // At least 0.9x raw's rate: raw/ours at most 1/0.9 (1.111...), written 1.11.
        target: Target::Ratio(1.11),
    });
    report.rows.push(Row {
        name: "http_hello_p99",
        unit: "µs",
        ours: median(&ours_loads, |l| l.p99_us),
        raw: median(&raw_loads, |l| l.p99_us),
        better: Better::Lower,
        target: Target::Ratio(1.2),
    });
    report.notes.push(format!(
        "http_hello_*: wrk -t1 -c{CONNECTIONS} -d{seconds}s on core 1, both servers in one child on core 0, {batches} interleaved batches, medians; a fresh instance per request on both sides"
    ));
    Ok(report)
}

/// One wrk run against `address`'s `/hello`.
fn wrk(address: &str, seconds: &str) -> Result<Load> {
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "-c", CONNECTIONS, "-d"])
        .arg(format!("{seconds}s"))
        .arg("--latency")
        .arg(format!("http://{address}/hello"))
        .output()?;
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
    match (rps, p99) {
        (Some(rps), Some(p99_us)) if !errors => Ok(Load { rps, p99_us }),
        _ => Err(format!("wrk against {address} gave:\n{text}").into()),
    }
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
    // Until the parent closes stdin (or kills this process).
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    drop(engine);
    Ok(())
}
