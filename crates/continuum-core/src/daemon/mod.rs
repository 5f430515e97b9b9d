//! The daemon process: its home on disk, single-instance ownership, boot and
//! graceful shutdown.

mod home;
mod instance;
mod run;

pub use home::Home;
pub use instance::{InstanceError, InstanceLock};
pub use run::{run, Config, DaemonError, DaemonState};
