//! `airssys:component/logging`: guest logs go to `tracing`, tagged with the component name.

use super::bindings::airssys::component::logging::{Host as LoggingImport, Level};
use crate::store::StoreData;

/// Longest message kept from one `log` call; the rest is cut.
const MAX_MESSAGE: usize = 16 * 1024;

impl LoggingImport for StoreData {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if !self.log_budget.take() {
            return Ok(());
        }
        let message = truncate(&message, MAX_MESSAGE);
        let component = &*self.name;
        match level {
            Level::Trace => tracing::trace!(target: "airssys_wasm::guest", component, "{message}"),
            Level::Debug => tracing::debug!(target: "airssys_wasm::guest", component, "{message}"),
            Level::Info => tracing::info!(target: "airssys_wasm::guest", component, "{message}"),
            Level::Warn => tracing::warn!(target: "airssys_wasm::guest", component, "{message}"),
            Level::Error => tracing::error!(target: "airssys_wasm::guest", component, "{message}"),
        }
        Ok(())
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
