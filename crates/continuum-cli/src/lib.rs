//! `cu`, the thin Continuum client, as a library (the `cu` and `continuum`
//! binaries are one-line wrappers around [`main`]).
//!
//! It depends only on the wire crate, serde_json, clap and libc: no async
//! runtime, no daemon code, so it starts in about a millisecond.
//!
//! - [`client`]: a blocking JSON-RPC client over the Unix socket.
//! - [`flags`]: `--kebab-case` flags -> camelCase params, coerced by the
//!   command's JSON Schema, parsed by a clap command built at run time.
//! - [`control`]: `start`, `stop`, `status`.
//! - [`service`]: `cu service install|uninstall|status`, a systemd user unit.
//! - `chat`: `cu chat ROOM`, an interactive room.
//! - [`exit`]: the exit codes.

mod chat;
mod cli;
pub mod client;
pub mod control;
pub mod exit;
pub mod flags;
mod output;
pub mod service;

pub use cli::main;
