//! `continuum-core`: the Continuum daemon as a library.
//!
//! One process per machine holds everything: the command [`registry`](command),
//! the [`gate`] every call passes, the [`audit`] log, the stores, and the
//! transports in [`ipc`]. The binary in `main.rs` only parses flags, sets up
//! logging and calls [`daemon::run`].
//!
//! Boundary invariants:
//! - every call, from any transport or from a composing handler, goes through
//!   [`dispatch::Dispatcher::dispatch`]; nothing else runs a command;
//! - trust and access are decided only by [`gate::caller_trust`] and
//!   [`gate::decide`]; `forwarded_for` never reaches them;
//! - handlers return [`command::CommandError`]; it becomes a wire error in one
//!   `From` impl.

pub mod audit;
pub mod command;
pub mod commands;
pub mod daemon;
pub mod dispatch;
pub mod gate;
pub mod grants;
pub mod grid;
pub mod ipc;
pub mod store;

#[doc(hidden)]
pub use inventory;
