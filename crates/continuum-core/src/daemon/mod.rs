//! The daemon process: its home on disk, single-instance ownership, boot and
//! graceful shutdown.

mod home;
mod instance;
mod run;

pub use continuum_wire::Home;
pub use home::prepare;
pub use instance::{InstanceError, InstanceLock};
pub use run::{build_dispatcher, build_registry, run, Config, DaemonError, DaemonState, Services};
