//! NATS connections from `[lattice]`: credentials, TLS, and what a failure means.

use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event};

use super::LatticeError;
use crate::manifest::host_file::redacted;
use crate::manifest::{LatticeAuth, LatticeSettings};

/// How often a connection pings its server: a server cut off without a TCP close is
/// noticed after two unanswered pings (async-nats' default is every 60 s).
const PING_INTERVAL: Duration = Duration::from_secs(2);

/// How long one attempt to connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What one connection attempt found.
pub(crate) enum Attempt {
    Connected(Client),
    /// Wrong credentials, TLS or addresses: no use retrying.
    Refused(LatticeError),
    /// The servers could not be reached: retry later.
    Unreachable(LatticeError),
}

/// The options of one connection (`role`: `data` or `control`) of `client_name`.
async fn options(
    settings: &LatticeSettings,
    client_name: &str,
    role: &'static str,
) -> Result<ConnectOptions, LatticeError> {
    let read = |what: &'static str, path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| LatticeError::File {
            lattice: settings.name.clone(),
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let mut options = match &settings.auth {
        LatticeAuth::None => ConnectOptions::new(),
        LatticeAuth::Token(path) => {
            ConnectOptions::with_token(read("the token file", path)?.trim().to_string())
        }
        LatticeAuth::NkeySeed(path) => {
            ConnectOptions::with_nkey(read("the NKey seed file", path)?.trim().to_string())
        }
        LatticeAuth::Credentials(path) => ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|source| LatticeError::File {
                lattice: settings.name.clone(),
                what: "the .creds file",
                path: path.clone(),
                source,
            })?,
    };
    if let Some(tls) = &settings.tls {
        options = options.require_tls(true);
        if let Some(ca) = &tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
    }
    let lattice = settings.name.clone();
    Ok(options
        .name(format!("airssys-wasm {client_name} {role}"))
        .ping_interval(PING_INTERVAL)
        .connection_timeout(CONNECT_TIMEOUT)
        .event_callback(move |event| {
            let lattice = lattice.clone();
            async move {
                match event {
                    Event::Connected => tracing::info!(%lattice, role, "lattice connection up"),
                    Event::Disconnected => {
                        tracing::warn!(%lattice, role, "lattice connection lost; reconnecting")
                    }
                    other => tracing::warn!(%lattice, role, event = %other, "lattice connection"),
                }
            }
        }))
}

/// One attempt to connect to `settings`' servers.
pub(crate) async fn attempt(
    settings: &LatticeSettings,
    client_name: &str,
    role: &'static str,
) -> Attempt {
    let options = match options(settings, client_name, role).await {
        Ok(options) => options,
        Err(e) => return Attempt::Refused(e),
    };
    match options.connect(settings.nats.as_slice()).await {
        Ok(client) => Attempt::Connected(client),
        Err(source) => {
            let servers = settings
                .nats
                .iter()
                .map(|url| redacted(url))
                .collect::<Vec<_>>()
                .join(", ");
            let lattice = settings.name.clone();
            match source.kind() {
                ConnectErrorKind::Authentication
                | ConnectErrorKind::AuthorizationViolation
                | ConnectErrorKind::Tls
                | ConnectErrorKind::ServerParse => Attempt::Refused(LatticeError::Refused {
                    lattice,
                    servers,
                    source,
                }),
                // A handshake the server or this host refused (an unknown CA, no client
                // certificate) reaches async-nats as an I/O error.
                _ if tls_refused(&source) => Attempt::Refused(LatticeError::Refused {
                    lattice,
                    servers,
                    source,
                }),
                _ => Attempt::Unreachable(LatticeError::Unreachable {
                    lattice,
                    servers,
                    source,
                }),
            }
        }
    }
}

/// Whether rustls refused the TLS handshake somewhere in `error`'s causes.
fn tls_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<async_nats::rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<async_nats::rustls::Error>().is_some())
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::manifest::host_file::redacted;

    #[test]
    fn urls_lose_their_credentials_in_messages() {
        assert_eq!(redacted("nats://tok@h:1"), "nats://***@h:1");
        assert_eq!(redacted("tls://u:p@h:1"), "tls://***@h:1");
        assert_eq!(redacted("nats://h:1"), "nats://h:1");
    }
}
