//! `echo`: replies with the payload unchanged.
//!
//! Topic `"fail"` returns `err("echo asked to fail: <payload>")` instead, a
//! handled failure that must not restart the component.
//!
//! Used by the host and CLI tests as the simplest well-behaved component
//! (round trips, handler errors, precompiled `.cwasm` loading, benchmarks).

wit_bindgen::generate!({ path: "../../../../wit", world: "component" });

use airssys::component::types::Message;
use exports::airssys::component::handler::Guest;

struct Echo;

impl Guest for Echo {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        if msg.topic == "fail" {
            return Err(format!(
                "echo asked to fail: {}",
                String::from_utf8_lossy(&msg.payload)
            ));
        }
        Ok(msg.payload)
    }
}

export!(Echo);
