//! `{{name}}`: an airssys-wasm component in Rust (`world component`, wit/world.wit).
//!
//! | topic   | reply                                                           |
//! |---------|-----------------------------------------------------------------|
//! | `greet` | `config["greeting"] + ", " + payload` (err without a greeting)  |
//! | `count` | a counter kept between messages, as decimal text                |
//! | `log`   | logs the payload at info level, replies `logged`                |
//! | other   | the payload unchanged                                           |

wit_bindgen::generate!({ path: "wit", world: "component" });

use std::sync::atomic::{AtomicU64, Ordering};

use airssys::component::logging::{Level, log};
use airssys::component::types::Message;
use airssys::component::config;
use exports::airssys::component::handler::Guest;

/// State lives as long as the instance: a restart (after a crash) starts it afresh.
static COUNT: AtomicU64 = AtomicU64::new(0);

struct Component;

impl Guest for Component {
    fn handle(msg: Message) -> Result<Vec<u8>, String> {
        match msg.topic.as_str() {
            "greet" => {
                let greeting = config::get("greeting").ok_or("no greeting configured")?;
                Ok(format!("{greeting}, {}", String::from_utf8_lossy(&msg.payload)).into_bytes())
            }
            "count" => Ok((COUNT.fetch_add(1, Ordering::Relaxed) + 1).to_string().into_bytes()),
            "log" => {
                log(Level::Info, &String::from_utf8_lossy(&msg.payload));
                Ok(b"logged".to_vec())
            }
            _ => Ok(msg.payload),
        }
    }
}

export!(Component);
