//! `airssys-wasm ask NAME --nats URL [--lattice L] [--timeout-ms N] [--topic T] [--payload TEXT | --payload-file F] [--json]`

use std::path::PathBuf;
use std::time::Duration;

use airssys_wasm::lattice::LatticeClient;
use airssys_wasm::manifest::{LatticeAuth, LatticeSettings, LatticeTls};

use super::{MessageArgs, report};

/// Send one message to a component running anywhere on a lattice, and print the reply.
///
/// The reply and failures are written and the exit status chosen exactly as `call` does
/// (7 too-large). The timeout travels with the message: the host that runs it stops it
/// there, and past it the answer is `timeout`.
///
/// Example: `airssys-wasm ask hello --nats nats://127.0.0.1:4222 --payload world`
#[derive(Debug, clap::Args)]
pub(crate) struct Ask {
    /// The component's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// A NATS server of the lattice (repeat for more).
    #[arg(long, value_name = "URL", required = true)]
    nats: Vec<String>,
    /// A file holding the token the servers ask for (as `[lattice] token_file`).
    #[arg(long, value_name = "F", conflicts_with_all = ["credentials", "nkey_seed_file"])]
    token_file: Option<PathBuf>,
    /// A NATS `.creds` file (as `[lattice] credentials`).
    #[arg(long, value_name = "F", conflicts_with = "nkey_seed_file")]
    credentials: Option<PathBuf>,
    /// A file holding an NKey seed (as `[lattice] nkey_seed_file`).
    #[arg(long, value_name = "F")]
    nkey_seed_file: Option<PathBuf>,
    /// The CA certificates (PEM) the servers' certificates are checked against; TLS on.
    #[arg(long, value_name = "F")]
    tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for servers that verify clients, with --tls-key.
    #[arg(long, value_name = "F", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "F", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The lattice's name.
    #[arg(long, value_name = "L", default_value = "default")]
    lattice: String,
    /// How long the message may take, there and back, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 30_000)]
    timeout_ms: u64,
    #[command(flatten)]
    message: MessageArgs,
    /// Print one JSON object on stdout instead of the raw reply.
    #[arg(long)]
    json: bool,
}

impl Ask {
    pub(crate) async fn run(self) -> i32 {
        if !airssys_wasm::manifest::is_valid_name(&self.lattice) {
            return report::usage(format!(
                "--lattice {:?}: a lattice name is 1-64 characters of [a-z0-9_-]",
                self.lattice
            ));
        }
        let payload = match self.message.payload() {
            Ok(payload) => payload,
            Err(code) => return code,
        };
        let auth = match (&self.token_file, &self.credentials, &self.nkey_seed_file) {
            (Some(token), _, _) => LatticeAuth::Token(token.clone()),
            (_, Some(creds), _) => LatticeAuth::Credentials(creds.clone()),
            (_, _, Some(seed)) => LatticeAuth::NkeySeed(seed.clone()),
            _ => LatticeAuth::None,
        };
        let tls = (self.tls_ca.is_some() || self.tls_cert.is_some()).then(|| LatticeTls {
            ca: self.tls_ca.clone(),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
        });
        let settings = LatticeSettings {
            name: self.lattice.clone(),
            nats: self.nats.clone(),
            auth,
            tls,
            export: None,
        };
        let client = match LatticeClient::connect(&settings).await {
            Ok(client) => client,
            Err(e) => return report::usage(e),
        };
        let outcome = client
            .ask(
                &self.name,
                &self.message.topic,
                payload,
                Duration::from_millis(self.timeout_ms),
            )
            .await;
        match outcome {
            Ok(reply) => report::success(&reply, self.json),
            Err(e) => report::failed(&e, self.json),
        }
    }
}
