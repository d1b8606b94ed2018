#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod actor;
mod address;
mod catch_unwind;
mod context;
pub mod error;
mod exit;
mod lifecycle;
mod mailbox;
mod message;
pub mod monitor;
mod registry;
mod runner;
pub mod supervisor;
mod system;

pub use actor::{Actor, ErrorAction, HealthStatus};
pub use address::{ActorId, ActorRef};
pub use context::ActorContext;
pub use error::{ActorError, AskError, SendError};
pub use exit::ExitHandle;
pub use mailbox::DEFAULT_MAILBOX_CAPACITY;
pub use message::Message;
pub use monitor::{LifecycleEvent, StopReason};
pub use supervisor::{
    Backoff, ChildInfo, ChildKind, ChildSpec, ChildStatus, HealthConfig, RestartIntensity,
    RestartPolicy, ShutdownPolicy, Strategy, SupervisorConfig, SupervisorRef,
};
pub use system::{ActorSystem, SpawnBuilder, SupervisorBuilder, SystemConfig};

/// Everything needed to write and run actors: `use airssys_wasm_actors::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Actor, ActorContext, ActorError, ActorRef, ActorSystem, AskError, ChildSpec, ErrorAction,
        HealthConfig, HealthStatus, LifecycleEvent, RestartPolicy, SendError, ShutdownPolicy,
        StopReason, Strategy, SupervisorConfig, SupervisorRef, SystemConfig,
    };
}
