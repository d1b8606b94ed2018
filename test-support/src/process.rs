//! `airssys-wasm serve` as a child process: its stderr read line by line on a thread of
//! its own (so every wait on it is bounded), real signals, a bounded wait for its exit.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::components::airssys_wasm_command;

/// How long a served host may take to log `ready` (its components compile on first use).
pub const READY_WITHIN: Duration = Duration::from_secs(90);

/// A running `airssys-wasm serve HOSTFILE --log-format json`; killed when dropped, so a
/// failing test leaves no process behind.
pub struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

/// The listeners a served host logged in its `ready` line.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    /// `[http]`'s address.
    pub http: Option<SocketAddr>,
    /// `[metrics]`' address.
    pub metrics: Option<SocketAddr>,
}

impl Served {
    /// Starts `bin serve host_file --log-format json` (logs at `info`).
    pub fn start(bin: &str, host_file: &Path) -> Served {
        Served::start_logging(bin, host_file, "info")
    }

    /// As [`Served::start`], logging what `rust_log` says (e.g.
    /// `info,airssys_wasm::engine=debug` for a line as each message starts).
    pub fn start_logging(bin: &str, host_file: &Path, rust_log: &str) -> Served {
        let mut child = airssys_wasm_command(bin)
            .env("RUST_LOG", rust_log)
            .arg("serve")
            .arg(host_file)
            .args(["--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Served {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The first line from now on containing `needle`, which must come within `limit`.
    pub fn until(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {limit:?}; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The first line from now on containing `needle`, if one comes within `limit`.
    pub fn try_until(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if line.contains(needle) {
                return Some(line);
            }
        }
    }

    /// Every line it has written until now (a moment after it exited: all of them).
    pub fn drain_lines(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
    }

    /// Waits for the `ready` line and returns the listeners it names.
    pub fn ready(&mut self) -> Ready {
        let line = self.until("\"message\":\"ready\"", READY_WITHIN);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        let address = |key: &str| json["fields"][key].as_str().and_then(|a| a.parse().ok());
        Ready {
            http: address("http"),
            metrics: address("metrics"),
        }
    }

    /// Sends the signal `name` (`TERM`, `INT`, `HUP`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, at most `limit`; fails the test past it.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running {limit:?} later; stderr so far:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
