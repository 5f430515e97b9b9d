//! The Continuum wire protocol: what crosses the socket, and nothing else.
//!
//! Every client (the `cu` CLI, SDKs, personas' tool calls, peers) and the daemon
//! share these types. The crate is deliberately tiny: serde + serde_json only, no
//! I/O, no async, so the CLI can depend on it and still start in milliseconds.
//!
//! - [`audit`]: what an audit record says about one decision.
//! - [`frame`]: JSON-RPC 2.0 requests, responses and stream notifications, one
//!   JSON document per line (see `docs/adr/0001-wire-protocol.md`).
//! - [`error`]: the stable error codes, mapped once from internal errors at the
//!   daemon boundary.
//! - [`descriptor`]: what `commands/list` returns for each command.
//! - [`home`]: where a daemon's socket, pid file and stores live.
//! - [`peer`]: the handshake a peer makes to prove its key.
//! - [`tool_schema`]: params schemas in the subset model providers and tool
//!   hosts accept.

pub mod audit;
pub mod descriptor;
pub mod error;
pub mod frame;
pub mod home;
pub mod peer;
pub mod tool_schema;

pub use audit::{AuditEvent, Outcome};
pub use descriptor::{Access, CommandDescriptor, Trust};
pub use error::{ErrorCode, ErrorData, RpcError};
pub use frame::{
    Id, Request, RequestMeta, Response, StreamNotification, JSONRPC_VERSION, STREAM_METHOD,
};
pub use home::Home;

/// Default maximum size of one frame (one line), in bytes.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;
