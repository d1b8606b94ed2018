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
    let mut stdout = child.stdout.take().map(BufReader::new);
    if let Some(stdout) = stdout.as_mut() {
        stdout.read_line(&mut line)?;
    }
    let mut addresses = line.split_whitespace();
    let (Some(ours), Some(raw)) = (addresses.next(), addresses.next()) else {
        let _ = child.kill();
        return Err(format!("the http child printed {line:?}, not two addresses").into());
    };
    let seconds = if plan.quick { "1" } else { "3" };
    // Nine pairs: one 3 s run of a pair swung 0.6-1.05x the other on this VM (its
    // neighbours), so the median needs more than five.
    let batches = if plan.quick { 3 } else { 9 };
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
    // What each side allocates per request, counted in the child apart from the timed
    // batches.
    let mut stdin = child.stdin.take();
    for (who, address) in [("ours", ours), ("raw", raw)] {
        let (Some(input), Some(output)) = (stdin.as_mut(), stdout.as_mut()) else {
            break;
        };
        input.write_all(b"count\n")?;
        let load = wrk(address, "1")?;
        input.write_all(b"counted\n")?;
        let mut line = String::new();
        output.read_line(&mut line)?;
        let mut counts = line.split_whitespace().map(str::parse::<f64>);
        let (Some(Ok(all)), Some(Ok(large))) = (counts.next(), counts.next()) else {
            return Err(format!("the http child counted {line:?}").into());
        };
        let requests = load.requests.max(1.0);
        allocation_diags(
            &mut report,
            "http_hello_rps",
            who,
            all / requests,
            large / requests,
        );
    }
    if let Some(mut stdin) = stdin {
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
