//! The bench report: airssys-wasm beside raw wasmtime (component rows) and kameo (native
//! rows), measured interleaved in one run, printed as a markdown table.
//!
//! ```text
//! cargo run --release -p airssys-wasm-bench -- [--quick] [--json FILE] [--only NAME,...]
//! ```
//!
//! `--quick` finishes in under 2 minutes on 2 cores (fewer batches, and 1,000 instead of
//! 10,000 live actors for the RSS row). `--json FILE` also writes
//! `{"rows": [{"name", "unit", "ours", "raw", "ratio"}], ...}`, where the ratio is ours/raw
//! for times and sizes and raw/ours for rates: lower is always better. `--only` runs the
//! row families whose names are listed (`native`, `roundtrip`, `load`, `spawn`, `restart`,
//! `timeout`, `throughput`, `rss`).

mod report;
mod rows;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::Scratch;
use airssys_wasm_bench::measure::on_worker;

use crate::report::Report;
use crate::rows::Plan;

/// Counts allocations where a row asks (`allocs::count`); the system allocator otherwise.
#[global_allocator]
static ALLOCATOR: airssys_wasm_bench::allocs::Counting = airssys_wasm_bench::allocs::Counting;

struct Args {
    quick: bool,
    json: Option<PathBuf>,
    only: Option<Vec<String>>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args> {
    let mut parsed = Args {
        quick: false,
        json: None,
        only: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--json" => parsed.json = Some(args.next().ok_or("--json needs a file")?.into()),
            "--only" => {
                let list = args.next().ok_or("--only needs a list of row families")?;
                parsed.only = Some(list.split(',').map(str::to_string).collect());
            }
            "-h" | "--help" => {
                println!(
                    "usage: airssys-wasm-bench [--quick] [--json FILE] [--only native,roundtrip,load,spawn,restart,timeout,throughput,lattice,rss,http]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some(rows::rss::CHILD) {
        return rows::rss::child(args.skip(1));
    }
    if args.peek().map(String::as_str) == Some(rows::http::CHILD) {
        return rows::http::child();
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: impl Iterator<Item = String>) -> Result<()> {
    let args = parse_args(args)?;
    let started = Instant::now();
    let plan = Plan::new(args.quick);
    let scratch = Arc::new(Scratch::new()?);
    let rt = airssys_wasm_bench::setup::runtime()?;
    let wanted = |family: &str| {
        args.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == family))
    };

    let mut report = Report::default();
    if args.quick {
        report.notes.push(format!(
            "--quick: fewer batches; rss_per_idle_actor_10k measured with {} live actors, not 10,000",
            plan.rss_actors
        ));
    }
    let families: [(&str, rows::Family); 8] = [
        ("native", rows::native::run),
        ("roundtrip", rows::roundtrip::run),
        ("load", rows::load::run),
        ("spawn", rows::spawn::run),
        ("restart", rows::restart::run),
        ("timeout", rows::timeout::run),
        ("throughput", rows::throughput::run),
        ("lattice", rows::lattice::run),
    ];
    for (family, run) in families {
        if wanted(family) {
            let family_started = Instant::now();
            eprintln!("running {family}...");
            report.merge(on_worker(&rt, run(plan, scratch.clone()))?);
            eprintln!(
                "  {family}: {:.1} s",
                family_started.elapsed().as_secs_f64()
            );
        }
    }
    rt.shutdown_background();
    if wanted("rss") {
        // Measured in child processes of this binary, one per side.
        let family_started = Instant::now();
        eprintln!("running rss...");
        report.merge(rows::rss::run(plan)?);
        eprintln!("  rss: {:.1} s", family_started.elapsed().as_secs_f64());
    }
    if wanted("http") {
        // Measured against a child process of this binary, with wrk.
        let family_started = Instant::now();
        eprintln!("running http...");
        report.merge(rows::http::run(plan)?);
        eprintln!("  http: {:.1} s", family_started.elapsed().as_secs_f64());
    }

    println!("{}", report.markdown());
    println!(
        "Took {:.1} s ({} mode).",
        started.elapsed().as_secs_f64(),
        if args.quick { "quick" } else { "full" }
    );
    if let Some(path) = &args.json {
        report.write_json(path)?;
        println!("Wrote {}.", path.display());
    }
    Ok(())
}
