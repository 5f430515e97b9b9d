//! Transports: the Unix socket (the local owner), the optional TCP listener
//! (remote, never the owner) and the optional peer listener (a peer that proved
//! its key). All speak newline-delimited JSON-RPC 2.0 through the same
//! connection loop; they differ only in who they say the caller is.

mod connection;
mod frame;
mod listeners;
mod peer;

pub use connection::{serve_connection, ConnectionLimits};
pub use frame::{Frame, FrameReader};
pub use listeners::{bind_unix, serve_tcp, serve_unix};
pub use peer::{bind_peer, serve_peers};
