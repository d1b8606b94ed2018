#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// Modules in layer order, lowest first: a module imports only from its own layer or an
// earlier one. The order is ARCHITECTURE.md's `layers-actors` block, which
// tests/layers.rs checks.

// 1. Base: plain types, no tasks.
mod catch_unwind;
pub mod error;
mod id;
mod message;
pub mod monitor;
mod policy;
mod sync;

// 2. System core: names, the parent/task protocol, the shared `ActorSystem`.
mod lifecycle;
mod registry;
mod system;

// 3. The actor API: what an actor implementation sees.
mod actor;
mod address;
mod context;
mod exit;
mod mailbox;

// 4. The actor task.
mod runner;

// 5. Supervisors.
pub mod supervisor;

// 6. Spawning: the builders and the typed `ActorSystem` entry points.
mod spawn;

pub use actor::{Actor, ErrorAction};
pub use address::ActorRef;
pub use context::ActorContext;
pub use error::{ActorError, AskError, SendError};
pub use exit::ExitHandle;
pub use id::ActorId;
pub use message::Message;
pub use monitor::{LifecycleEvent, StopReason};
pub use policy::{
    Backoff, HealthConfig, HealthStatus, RestartIntensity, RestartPolicy, ShutdownPolicy,
};
pub use spawn::{SpawnBuilder, SupervisorBuilder};
pub use supervisor::{
    ChildInfo, ChildKind, ChildSpec, ChildStatus, Strategy, SupervisorConfig, SupervisorRef,
};
pub use system::{ActorSystem, DEFAULT_MAILBOX_CAPACITY, SystemConfig};

/// Everything needed to write and run actors: `use airssys_wasm_actors::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Actor, ActorContext, ActorError, ActorRef, ActorSystem, AskError, ChildSpec, ErrorAction,
        HealthConfig, HealthStatus, LifecycleEvent, RestartPolicy, SendError, ShutdownPolicy,
        StopReason, Strategy, SupervisorConfig, SupervisorRef, SystemConfig,
    };
}
