//! `missing-import`: a full `component` world plus an import the host does not
//! provide, `airssys:absent/nothing@0.1.0` (see `wit/absent.wit`).
//!
//! Topic `"ping"` calls `nothing::ping()` (so the import stays in the final
//! component); anything else is echoed. It never gets to run: loading it must
//! fail with a `link` error. Used by the link-error tests of the host and CLI.

wit_bindgen::generate!({
    path: ["../../../../wit", "wit"],
    world: "airssys:absent/component-plus",
    // The airssys:component interfaces come from the first path; generate them too.
    generate_all,
});

use airssys::absent::nothing;
use airssys::component::types::Message;
use exports::airssys::component::handler::Guest;

struct MissingImport;

impl Guest for MissingImport {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        match msg.topic.as_str() {
            "ping" => Ok(nothing::ping().to_string().into_bytes()),
            _ => Ok(msg.payload),
        }
    }
}

export!(MissingImport);
