//! `no-handler`: a valid component that exports `airssys:other/api@0.1.0`
//! (see `wit/other.wit`) instead of `airssys:component/handler@0.1.0`.
//!
//! Loading it must fail with a `component` error. Used by the
//! component-error tests of the host and CLI.

wit_bindgen::generate!({ path: "wit", world: "no-handler" });

use exports::airssys::other::api::Guest;

struct NoHandler;

impl Guest for NoHandler {
    fn hello() -> String {
        "hello from a component without a handler".to_string()
    }
}

export!(NoHandler);
