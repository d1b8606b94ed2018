//! What every measurement starts from: the runtime, and a host with a supervisor.

use std::time::Duration;

use airssys_wasm::{EngineConfig, Host};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SupervisorRef, SystemConfig};
use tokio::runtime::Runtime;

use crate::Result;
use crate::guests::Scratch;

/// The runtime both sides run on: multi-thread tokio with two workers, as on the 2-core
/// machines the figures are for.
///
/// # Errors
///
/// When tokio cannot start its threads.
pub fn runtime() -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// A fresh actor system, a host in it with `config` and a OneForOne supervisor that
/// restarts without practical limit.
///
/// # Errors
///
/// When the host or the supervisor cannot start.
pub async fn host(config: EngineConfig) -> Result<(ActorSystem, Host, SupervisorRef)> {
    let system = ActorSystem::new(SystemConfig::default());
    let host = Host::start(&system, config).await?;
    let supervisor = system
        .spawn_supervisor(
            SupervisorConfig::new(Strategy::OneForOne)
                .restart_limit(1_000_000, Duration::from_secs(1)),
        )
        .start()
        .await?;
    Ok((system, host, supervisor))
}

/// The host configuration of the benches: defaults, with the scratch compilation cache.
pub fn host_config(scratch: &Scratch) -> EngineConfig {
    EngineConfig::default().cache_dir(Some(scratch.cache_dir()))
}
