//! `both`: one component reachable both ways. As a message component (`ask`, `tell`, a
//! route to it as messages) it counts: topic `increment` adds the payload's number and
//! replies the total, `get` replies it. As a `wasi:http/proxy` component, any request
//! gets `200 total=N` for the same counter, so one instance's state shows through both
//! ways only where the host shares an instance (it does not: HTTP requests get instances
//! of their own), which is what a test can see.

wit_bindgen::generate!({ path: "wit", world: "both", generate_all });

use std::sync::atomic::{AtomicU64, Ordering};

use airssys::component::types::Message;
use exports::airssys::component::handler::Guest as MessageGuest;
use exports::wasi::http::incoming_handler::Guest as HttpGuest;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

static TOTAL: AtomicU64 = AtomicU64::new(0);

struct Both;

impl MessageGuest for Both {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        match msg.topic.as_str() {
            "increment" => {
                let text = String::from_utf8_lossy(&msg.payload);
                let n: u64 = text.trim().parse().map_err(|_| format!("not a number: {text:?}"))?;
                Ok((TOTAL.fetch_add(n, Ordering::Relaxed) + n).to_string().into_bytes())
            }
            "get" => Ok(TOTAL.load(Ordering::Relaxed).to_string().into_bytes()),
            other => Err(format!("unknown topic: {other}")),
        }
    }
}

impl HttpGuest for Both {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("the body of a new response");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("the body's stream");
        let text = format!("http {path} total={}\n", TOTAL.load(Ordering::Relaxed));
        stream.blocking_write_and_flush(text.as_bytes()).expect("written");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finished");
    }
}

export!(Both);
