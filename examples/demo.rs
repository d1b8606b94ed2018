//! The main demo: load `echo` and `counter`, send them messages, and watch a crash be
//! contained.
//!
//! Run it with `scripts/demo` (builds the guest components first), or, once they are
//! built, `cargo run --example demo`.

use airssys_wasm::{HostConfig, HostEngine, LoadedComponent, Manifest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = HostEngine::new(HostConfig::default())?;
    let components = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/components");

    let echo = LoadedComponent::load(&engine, Manifest::from_file(components.join("echo/Component.toml"))?).await?;
    let mut echo_instance = echo.instantiate(None).await?;
    let reply = echo_instance.call("greet", b"hello, components", None).await?;
    println!(
        "echo     -> {:?} ({} fuel, {:?})",
        String::from_utf8_lossy(&reply.payload),
        reply.fuel_consumed,
        reply.elapsed
    );

    let counter = LoadedComponent::load(&engine, Manifest::from_file(components.join("counter/Component.toml"))?).await?;
    let mut counter_instance = counter.instantiate(None).await?;
    for step in ["1", "2", "39"] {
        let reply = counter_instance.call("increment", step.as_bytes(), None).await?;
        println!("counter  += {step:<3} -> {}", String::from_utf8_lossy(&reply.payload));
    }

    let faulty = LoadedComponent::load(&engine, Manifest::from_file(components.join("faulty/Component.toml"))?).await?;
    let mut faulty_instance = faulty.instantiate(None).await?;
    println!("faulty   count -> {}", String::from_utf8_lossy(&faulty_instance.call("count", b"", None).await?.payload));
    match faulty_instance.call("trap", b"", None).await {
        Ok(_) => println!("faulty   trap  -> unexpectedly replied"),
        Err(e) => println!("faulty   trap  -> error[{}]: {e}", e.kind()),
    }
    let mut fresh = faulty.instantiate(None).await?;
    println!(
        "faulty   count -> {} (a fresh instance: state reset, host unharmed)",
        String::from_utf8_lossy(&fresh.call("count", b"", None).await?.payload)
    );
    let reply = echo_instance.call("still-there", b"yes", None).await?;
    println!("echo     -> {:?} (neighbours unaffected)", String::from_utf8_lossy(&reply.payload));
    Ok(())
}
