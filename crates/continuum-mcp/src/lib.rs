//! Continuum's commands for MCP hosts (Claude Desktop, Claude Code, Cursor,
//! any MCP client), on stdio or streamable HTTP. The `continuum-mcp` binary
//! serves them; `cu mcp ARGS` execs it, so a host's config is one line.
//!
//! It is a client of the daemon's socket, like `cu`: every tool call is a
//! request with the identity the operator chose when wiring it, which the
//! gate can only lower. stdout carries MCP only; logs go to stderr.
//!
//! - [`bridge`]: the MCP server (`tools/list`, `tools/call`, list changes).
//! - [`catalog`]: descriptors as tools.
//! - [`daemon`]: the socket calls.
//! - [`errors`]: daemon errors as tool errors.
//! - [`http`]: the loopback HTTP transport.

pub mod bridge;
pub mod catalog;
pub mod daemon;
pub mod errors;
pub mod http;
