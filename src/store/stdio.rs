//! Guest stdout and stderr, sent to `tracing` line by line with the component's name.
//!
//! Output never reaches the host's own stdout. A line longer than [`MAX_LINE`] bytes is
//! emitted in pieces, so a guest that prints without newlines cannot grow host memory.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::log_budget::LogBudget;

/// Bytes buffered per stream before a partial line is emitted.
pub(crate) const MAX_LINE: usize = 4096;

/// Which guest stream this is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// A guest output stream logged through `tracing`, within the component's log budget.
#[derive(Debug, Clone)]
pub(crate) struct GuestLog {
    budget: LogBudget,
    stream: Stream,
}

impl GuestLog {
    pub(crate) fn new(budget: LogBudget, stream: Stream) -> GuestLog {
        GuestLog { budget, stream }
    }
}

struct LineWriter {
    log: GuestLog,
    line: Vec<u8>,
}

impl LineWriter {
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) if self.line.len() + end <= MAX_LINE => {
                    self.line.extend_from_slice(&bytes[..end]);
                    self.emit();
                    bytes = &bytes[end + 1..];
                }
                _ => {
                    let room = MAX_LINE - self.line.len();
                    let take = room.min(bytes.len());
                    self.line.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if self.line.len() == MAX_LINE {
                        self.emit();
                    }
                }
            }
        }
    }

    fn emit(&mut self) {
        if !self.log.budget.take() {
            self.line.clear();
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let component = self.log.budget.component();
        match self.log.stream {
            Stream::Stdout => {
                tracing::info!(target: "airssys_wasm::guest::stdout", component, "{text}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "airssys_wasm::guest::stderr", component, "{text}")
            }
        }
        self.line.clear();
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit();
        }
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            log: self.clone(),
            line: Vec::new(),
        })
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LineWriter {
            log: self.clone(),
            line: Vec::new(),
        })
    }
}

impl tokio::io::AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Pollable for LineWriter {
    fn ready<'a, 'b>(&'a mut self) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async {})
    }
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> LineWriter {
        LineWriter {
            log: GuestLog::new(
                LogBudget::new("t".into(), Default::default()),
                Stream::Stdout,
            ),
            line: Vec::new(),
        }
    }

    #[test]
    fn keeps_the_partial_line_and_emits_whole_ones() {
        let mut w = writer();
        w.push(b"hello\nwor");
        assert_eq!(w.line, b"wor");
        w.push(b"ld\n");
        assert!(w.line.is_empty());
    }

    #[test]
    fn a_line_without_newline_never_grows_past_the_bound() {
        let mut w = writer();
        w.push(&vec![b'x'; MAX_LINE * 3 + 10]);
        assert_eq!(w.line.len(), 10);
    }
}
