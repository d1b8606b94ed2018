//! A real `nats-server` for the lattice tests: on a free loopback port, its own folder,
//! killed when dropped; started and waited for within bounded time.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::files::TempDir;

/// How long a server may take to accept connections.
const UP_WITHIN: Duration = Duration::from_secs(10);

/// A running `nats-server -a 127.0.0.1 -p PORT`.
pub struct NatsServer {
    child: Child,
    /// Its client port.
    pub port: u16,
    /// Its folder (config, log).
    pub dir: TempDir,
    args: Vec<String>,
}

/// The `nats-server` binary: on the PATH, or where Debian puts it.
pub fn nats_server_binary() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let candidate = PathBuf::from(dir).join("nats-server");
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from("/usr/sbin/nats-server")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl NatsServer {
    /// A server with default settings.
    pub fn start() -> NatsServer {
        NatsServer::start_with("")
    }

    /// A server with `config` (nats-server's config format, e.g. `max_payload: 65536` or
    /// an `authorization { token: ... }` block) besides its port.
    pub fn start_with(config: &str) -> NatsServer {
        NatsServer::start_on(free_port(), config)
    }

    /// A server with `config` on `port` (one a host was told to use before it was up).
    pub fn start_on(port: u16, config: &str) -> NatsServer {
        NatsServer::start_args(port, config, Vec::new())
    }

    /// `n` servers in one cluster (routes between all of them), each on free ports.
    pub fn cluster(n: usize) -> Vec<NatsServer> {
        let cluster_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let routes = cluster_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        cluster_ports
            .iter()
            .map(|cluster_port| {
                let extra = vec![
                    "--cluster_name".to_string(),
                    "airssys-test".to_string(),
                    "--cluster".to_string(),
                    format!("nats://127.0.0.1:{cluster_port}"),
                    "--routes".to_string(),
                    routes.clone(),
                ];
                NatsServer::start_args(free_port(), "", extra)
            })
            .collect()
    }

    fn start_args(port: u16, config: &str, extra: Vec<String>) -> NatsServer {
        let dir = TempDir::new();
        let conf = dir.write("nats.conf", config);
        let mut args = vec![
            "-a".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            port.to_string(),
            "-c".to_string(),
            conf.display().to_string(),
        ];
        args.extend(extra);
        let child = spawn(&args, &dir);
        let server = NatsServer {
            child,
            port,
            dir,
            args,
        };
        server.until_up();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL) and waits for it to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and config, after [`NatsServer::kill`].
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.args, &self.dir);
        self.until_up();
    }

    fn until_up(&self) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < UP_WITHIN,
                "nats-server on port {} not up within {UP_WITHIN:?}; log:\n{}",
                self.port,
                std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn spawn(args: &[String], dir: &TempDir) -> Child {
    let log = std::fs::File::create(dir.path().join("nats.log")).unwrap();
    Command::new(nats_server_binary())
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); scripts/test installs it (apt-get install -y nats-server)",
                nats_server_binary().display()
            )
        })
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
