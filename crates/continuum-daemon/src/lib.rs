//! `continuum-daemon`: the `continuum-core` binary and its wiring, and
//! nothing else. It is the composition root: it prepares the home, takes the
//! single-instance lock, opens the stores and the identity, builds the kernel
//! with every command module, and hands the kernel's one `CallerMint` to the
//! transports.
//!
//! Invariants: one daemon per home (an exclusive `flock` held for life; stale
//! socket and pid files are removed only by the lock holder); the mint goes
//! to transports only, never to a command module; test-only commands join
//! only through [`launch`]'s `extra` modules, which only the test daemon
//! (in the e2e crate) passes.

mod config;
mod home;
mod instance;
mod log_line;
mod main_args;
mod run;
mod storage;

pub use config::{CommandLimits, ConfigError, DaemonConfig};
pub use continuum_wire::Home;
pub use home::prepare;
pub use instance::{InstanceError, InstanceLock};
pub use main_args::launch;
pub use run::{build_kernel, build_registry, run, Config, DaemonError, GateAudit, Services};
