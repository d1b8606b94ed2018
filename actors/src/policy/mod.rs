//! Policies: plain values that say *when* and *how* the runtime acts, with no tasks
//! of their own. The lowest layer above `error`: nothing here imports the actor,
//! system or supervisor modules.
//!
//! - [`RestartPolicy`]: whether an ended incarnation is restarted.
//! - [`ShutdownPolicy`]: how long stopping an actor may take.
//! - [`RestartIntensity`]: how many restarts within a sliding window, and the
//!   internal tracker that counts them.
//! - [`Backoff`]: the delay before a restart.
//! - [`HealthConfig`] and [`HealthStatus`]: periodic health checks, and the internal
//!   probe that counts consecutive failures.

mod backoff;
pub(crate) mod health;
pub(crate) mod intensity;
mod restart;
mod shutdown;

pub use backoff::Backoff;
pub use health::{HealthConfig, HealthStatus};
pub use intensity::RestartIntensity;
pub use restart::RestartPolicy;
pub use shutdown::ShutdownPolicy;
