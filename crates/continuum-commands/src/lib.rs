//! `continuum-commands`: the command catalog. One file per command (or small
//! family), in a folder per family, each thin over the service or store it
//! drives. Stateless commands register themselves with `register_command!`;
//! commands that hold dependencies are contributed by their family's
//! [`Module`](continuum_kernel::command::Module). Adding a command means
//! adding a file here and nothing else.
//!
//! Invariant: commands reach the daemon only through their `Ctx` (the same
//! caller, the whole pipeline) and the services their module was given.

pub mod ai;
pub mod audit;
mod catalog;
pub mod chat;
pub mod data;
pub mod grid;
pub mod memory;
pub mod persona;
mod ping;
pub mod system;
pub mod vault;

use continuum_kernel::command::CommandError;
use continuum_store::StoreError;

/// A store failure as the caller sees it: the one mapping from store errors
/// to wire codes.
pub(crate) fn store_error(err: StoreError) -> CommandError {
    match err {
        StoreError::NotFound(what) => CommandError::NotFound(what),
        StoreError::Conflict(what) => CommandError::Conflict(format!("{what} already exists")),
        StoreError::Invalid { field, reason } => CommandError::invalid_params(field, reason),
        StoreError::Backend(reason) => CommandError::Unavailable(reason),
    }
}
