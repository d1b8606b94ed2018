//! The main demo: a native Rust actor and WebAssembly components under one supervisor.
//!
//! `echo` and `counter` answer messages, a native `ledger` actor keeps a tally of what
//! they said, and `faulty` traps on purpose: the caller gets a typed error, the supervisor
//! restarts `faulty` with fresh state, and everyone else carries on.
//!
//! Run it with `scripts/demo` (builds the guest components first), or, once they are
//! built, `cargo run --example demo`.

use std::path::Path;

use airssys_wasm::{EngineConfig, Host, Manifest};
use airssys_wasm_actors::prelude::*;

/// A native actor: counts the bytes of the replies it is told about.
#[derive(Default)]
struct Ledger {
    bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("the ledger failed")]
struct LedgerError;

impl Actor for Ledger {
    type Message = Vec<u8>;
    type Reply = usize;
    type Error = LedgerError;

    async fn handle_message(
        &mut self,
        reply: Vec<u8>,
        _ctx: &mut ActorContext<Self>,
    ) -> Result<usize, LedgerError> {
        self.bytes += reply.len();
        Ok(self.bytes)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/components");
    let manifest = |name: &str| Manifest::from_file(components.join(name).join("Component.toml"));

    let system = ActorSystem::new(SystemConfig::default());
    let host = Host::start(&system, EngineConfig::default()).await?;
    let supervisor = system
        .spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne))
        .name("demo")
        .start()
        .await?;
    let ledger = supervisor
        .add_child(ChildSpec::new("ledger", Ledger::default))
        .await?;
    for name in ["echo", "counter", "faulty"] {
        host.spawn_component(&supervisor, manifest(name)?).await?;
    }
    let children: Vec<String> = supervisor.children().into_iter().map(|c| c.id).collect();
    println!(
        "supervisor `demo` (OneForOne) runs: {}",
        children.join(", ")
    );

    let reply = host.ask("echo", "greet", b"hello, components").await?;
    println!(
        "echo            -> {:?} ({} fuel, {:?})",
        String::from_utf8_lossy(&reply.payload),
        reply.fuel_consumed,
        reply.elapsed
    );
    ledger.ask(reply.payload).await?;
    for step in ["1", "2", "39"] {
        let reply = host.ask("counter", "increment", step.as_bytes()).await?;
        println!(
            "counter += {step:<4} -> {}",
            String::from_utf8_lossy(&reply.payload)
        );
        ledger.ask(reply.payload).await?;
    }

    println!(
        "faulty count    -> {}",
        String::from_utf8_lossy(&host.ask("faulty", "count", b"").await?.payload)
    );
    println!(
        "faulty count    -> {}",
        String::from_utf8_lossy(&host.ask("faulty", "count", b"").await?.payload)
    );
    match host.ask("faulty", "trap", b"").await {
        Ok(_) => println!("faulty trap     -> unexpectedly replied"),
        Err(e) => println!("faulty trap     -> error[{}]: {e}", e.kind()),
    }
    let after = host.ask("faulty", "count", b"").await?;
    println!(
        "faulty count    -> {} (restarted by its supervisor: fresh state)",
        String::from_utf8_lossy(&after.payload)
    );
    match host.ask("counter", "increment", b"not a number").await {
        Ok(_) => println!("counter bad     -> unexpectedly replied"),
        Err(e) => println!(
            "counter bad     -> error[{}]: {e} (a handled error: no restart)",
            e.kind()
        ),
    }
    let counter = host.ask("counter", "get", b"").await?;
    println!(
        "counter get     -> {} (state kept)",
        String::from_utf8_lossy(&counter.payload)
    );
    println!(
        "ledger          -> {} reply bytes tallied by the native actor",
        ledger.ask(Vec::new()).await?
    );
    let m = host.metrics("faulty")?;
    println!(
        "faulty metrics  -> {} handled, {} trap, {} restart",
        m.handled, m.traps, m.restarts
    );

    system.shutdown().await?;
    Ok(())
}
