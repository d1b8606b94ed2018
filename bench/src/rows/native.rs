//! `native_ask_roundtrip` and `native_tell_throughput`: our actor runtime beside kameo.

use std::sync::Arc;

use airssys_wasm_actors::{ActorSystem, SystemConfig};
use airssys_wasm_bench::Result;
use airssys_wasm_bench::guests::Scratch;
use airssys_wasm_bench::measure::{Samples, ns_per, per_second};
use airssys_wasm_bench::native::{
    ask_kameo, ask_ours, spawn_kameo, spawn_ours, tell_kameo, tell_ours,
};

use super::{BoxReport, Plan, Side, order};
use crate::report::{Better, Report, Row, Target};

pub fn run(plan: Plan, _scratch: Arc<Scratch>) -> BoxReport {
    Box::pin(measure(plan))
}

async fn measure(plan: Plan) -> Result<Report> {
    let system = ActorSystem::new(SystemConfig::default());
    let ours = spawn_ours(&system, 1).await?.remove(0);
    let peer = spawn_kameo(1).await.remove(0);
    let asks = plan.iters(100_000, 300_000);
    let tells = plan.iters(500_000, 1_000_000);
    ask_ours(&ours, asks / 10).await?;
    ask_kameo(&peer, asks / 10).await?;

    let (mut ask, mut tell) = (Samples::default(), Samples::default());
    for batch in 0..plan.batches {
        for side in order(batch) {
            let started = std::time::Instant::now();
            if side == Side::Ours {
                ask_ours(&ours, asks).await?;
                ask.ours.push(ns_per(started.elapsed(), asks));
            } else {
                ask_kameo(&peer, asks).await?;
                ask.raw.push(ns_per(started.elapsed(), asks));
            }
        }
        for side in order(batch) {
            let started = std::time::Instant::now();
            if side == Side::Ours {
                tell_ours(&ours, tells).await?;
                tell.ours.push(per_second(started.elapsed(), tells + 1));
            } else {
                tell_kameo(&peer, tells).await?;
                tell.raw.push(per_second(started.elapsed(), tells + 1));
            }
        }
    }
    system.shutdown().await?;
    let _ = peer.stop_gracefully().await;

    let mut report = Report::default();
    report.rows.push(Row {
        name: "native_ask_roundtrip",
        unit: "ns",
        ours: ask.ours(),
        raw: ask.raw(),
        better: Better::Lower,
        target: Target::Ratio(1.2),
    });
    report.rows.push(Row {
        name: "native_tell_throughput",
        unit: "msgs/s",
        ours: tell.ours(),
        raw: tell.raw(),
        better: Better::Higher,
        target: Target::Ratio(1.0),
    });
    report
        .notes
        .push(format!("native rows: the peer is kameo {}", KAMEO_VERSION));
    Ok(report)
}

const KAMEO_VERSION: &str = "0.22";
