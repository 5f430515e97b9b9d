//! Who is calling, and may they? The single source of truth for trust and
//! access decisions. Dispatch and `commands/list` both call [`decide`], so what
//! a caller sees listed is exactly what it may call.
//!
//! Invariant: nothing here can see `forwarded_for` (it lives in
//! [`crate::command::CallMeta`], which no function in this module takes).

mod caller;
mod decision;

pub use caller::{caller_trust, Caller, PeerCaller, Trust};
pub use decision::{decide, Allowed, Decision, Denied};
