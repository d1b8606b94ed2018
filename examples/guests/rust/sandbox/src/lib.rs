//! `sandbox`: tries one capability per topic with Rust `std` and replies what happened.
//! The payload holds the arguments, separated by single spaces.
//!
//! | topic        | payload        | behaviour                                          |
//! |--------------|----------------|----------------------------------------------------|
//! | `read`       | `PATH`         | `std::fs::read_to_string`; reply the contents      |
//! | `write`      | `PATH TEXT`    | `std::fs::write` (creates or truncates); `written` |
//! | `create-dir` | `PATH`         | `std::fs::create_dir`; reply `created`             |
//! | `remove`     | `PATH`         | remove a file, or an empty directory; `removed`    |
//! | `list`       | `DIR`          | file names in `DIR`, sorted, one per line          |
//! | `env`        | `NAME`         | the variable's value, or `err("not set")`          |
//! | `env-all`    |                | every variable as `k=v\n`, sorted                  |
//! | `connect`    | `IP:PORT`      | `TcpStream::connect`, write `ping`; `connected`    |
//! | `udp-send`   | `IP:PORT`      | `UdpSocket::send_to` from an ephemeral port; `sent` |
//! | `listen`     | `IP:PORT`      | `TcpListener::bind`; reply `listening on ADDR`     |
//! | `resolve`    | `HOST`         | `(HOST, 0).to_socket_addrs()`; the IPs, one per line |
//! | `stdin`      |                | read all of stdin; reply its length in bytes       |
//! | `print`      | `TEXT`         | `println!` and `eprintln!` of `TEXT`; `printed`    |
//!
//! A failed operation is `err("<io::ErrorKind>: <message>")`, e.g.
//! `err("PermissionDenied: Operation not permitted (os error 63)")`: a denied capability is
//! an error value the guest handles, never a crash. Anything else is
//! `err("unknown topic: ...")`.
//!
//! Used by the capability tests (`tests/capabilities.rs`); its manifest grants nothing.

wit_bindgen::generate!({ path: "../../../../wit", world: "component" });

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

use airssys::component::types::Message;
use exports::airssys::component::handler::Guest;

struct Sandbox;

/// An I/O error as `"<kind>: <message>"`.
fn describe(e: std::io::Error) -> String {
    format!("{:?}: {e}", e.kind())
}

fn run(topic: &str, arg: &str) -> Result<String, String> {
    match topic {
        "read" => std::fs::read_to_string(arg).map_err(describe),
        "write" => {
            let (path, text) = arg.split_once(' ').unwrap_or((arg, ""));
            std::fs::write(path, text).map_err(describe)?;
            Ok("written".into())
        }
        "create-dir" => {
            std::fs::create_dir(arg).map_err(describe)?;
            Ok("created".into())
        }
        "remove" => {
            let meta = std::fs::symlink_metadata(arg).map_err(describe)?;
            if meta.is_dir() {
                std::fs::remove_dir(arg).map_err(describe)?;
            } else {
                std::fs::remove_file(arg).map_err(describe)?;
            }
            Ok("removed".into())
        }
        "list" => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(arg).map_err(describe)? {
                let entry = entry.map_err(describe)?;
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            Ok(names.join("\n"))
        }
        "env" => std::env::var(arg).map_err(|_| "not set".to_string()),
        "env-all" => {
            let mut vars: Vec<String> = std::env::vars()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect();
            vars.sort();
            Ok(vars.concat())
        }
        "connect" => {
            let mut stream = TcpStream::connect(arg).map_err(describe)?;
            stream.write_all(b"ping").map_err(describe)?;
            Ok("connected".into())
        }
        "udp-send" => {
            let socket = UdpSocket::bind("0.0.0.0:0").map_err(describe)?;
            socket.send_to(b"ping", arg).map_err(describe)?;
            Ok("sent".into())
        }
        "listen" => {
            let listener = TcpListener::bind(arg).map_err(describe)?;
            let addr = listener.local_addr().map_err(describe)?;
            Ok(format!("listening on {addr}"))
        }
        "resolve" => {
            let addrs = (arg, 0).to_socket_addrs().map_err(describe)?;
            let ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            Ok(ips.join("\n"))
        }
        "stdin" => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).map_err(describe)?;
            Ok(input.len().to_string())
        }
        "print" => {
            println!("{arg}");
            eprintln!("{arg}");
            Ok("printed".into())
        }
        other => Err(format!("unknown topic: {other}")),
    }
}

impl Guest for Sandbox {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        let arg = String::from_utf8_lossy(&msg.payload);
        run(&msg.topic, &arg).map(String::into_bytes)
    }
}

export!(Sandbox);
