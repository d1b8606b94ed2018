//! `airssys-wasm call MANIFEST [--with MANIFEST]... [--topic T] [--payload TEXT | --payload-file F] [--json]`

use std::path::PathBuf;

use airssys_wasm::{EngineConfig, Error, Host, Manifest};
use airssys_wasm_actors::{ActorSystem, Strategy, SupervisorConfig, SystemConfig};

use super::{MessageArgs, report};

/// Start a supervised host with these components, send one message to the first, and
/// print the reply.
///
/// The reply bytes go to stdout unchanged; a failure is `error[KIND]: message` on stderr,
/// with the kind's exit status (1 handler, 2 manifest/component/link/not-found, 3 trap,
/// 4 timeout, 5 fuel, 6 memory, 8 overloaded/stopped).
///
/// Example: `airssys-wasm call examples/components/echo/Component.toml --payload hello`
#[derive(Debug, clap::Args)]
pub(crate) struct Call {
    /// The component to send the message to.
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,
    /// More components to start beside it (it may message them).
    #[arg(long = "with", value_name = "MANIFEST")]
    with: Vec<PathBuf>,
    #[command(flatten)]
    message: MessageArgs,
    /// Print one JSON object on stdout instead of the raw reply.
    #[arg(long)]
    json: bool,
}

impl Call {
    pub(crate) async fn run(self) -> i32 {
        let payload = match self.message.payload() {
            Ok(payload) => payload,
            Err(code) => return code,
        };
        let system = ActorSystem::new(SystemConfig::default());
        // The reply is all `call` waits for: components still running (one that a timed-out
        // request left sleeping, say) are not waited for; the runtime is dropped without
        // waiting for them once the reply is written.
        let outcome = self.call(&system, &payload).await;
        match outcome {
            Ok(reply) => report::success(&reply, self.json),
            Err(Failure::Host(e)) => report::failed(&e, self.json),
            Err(Failure::Setup(message)) => report::usage(message),
        }
    }

    async fn call(
        &self,
        system: &ActorSystem,
        payload: &[u8],
    ) -> Result<airssys_wasm::Reply, Failure> {
        let mut manifests = Vec::with_capacity(1 + self.with.len());
        for path in std::iter::once(&self.manifest).chain(&self.with) {
            manifests.push(Manifest::from_file(path).map_err(|e| Failure::Host(e.into()))?);
        }
        let host = Host::start(system, EngineConfig::default())
            .await
            .map_err(|e| Failure::Setup(format!("cannot start the host: {e}")))?;
        let supervisor = system
            .spawn_supervisor(SupervisorConfig::new(Strategy::OneForOne))
            .name("airssys-wasm-call")
            .start()
            .await
            .map_err(|e| Failure::Setup(format!("cannot start the supervisor: {e}")))?;
        let target = manifests[0].component.name.clone();
        for manifest in manifests {
            host.spawn_component(&supervisor, manifest)
                .await
                .map_err(Failure::Host)?;
        }
        host.ask(&target, &self.message.topic, payload)
            .await
            .map_err(Failure::Host)
    }
}

enum Failure {
    Host(Error),
    Setup(String),
}
