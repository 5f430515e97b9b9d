//! `continuum-ipc`: the local transports. The Unix socket (the local owner),
//! the optional TCP listener (loopback, remote callers, never the owner) and
//! the optional peer listener (loopback, a peer that proved its key). All
//! speak newline-delimited JSON-RPC 2.0 through the same connection loop; they
//! differ only in which caller they mint with the kernel's `CallerMint`.
//!
//! Invariants: a Unix-socket client with another uid is refused before any
//! frame is read; TCP and peer listeners bind only to loopback; bad frames get
//! JSON-RPC errors and the connection survives.

mod connection;
mod frame;
mod listeners;
mod peer;

pub use connection::{serve_connection, ConnectionLimits, ListenerLimits, MAX_FORWARDED_FOR_BYTES};
pub use frame::{Frame, FrameReader};
pub use listeners::{bind_tcp, bind_unix, serve_tcp, serve_unix};
pub use peer::{bind_peer, serve_peers};
