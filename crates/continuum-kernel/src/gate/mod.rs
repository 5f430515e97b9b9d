//! Who is calling, and may they? The single source of truth for trust and
//! access decisions: [`caller_trust`] maps a caller to its trust, [`decide`]
//! is the trust-versus-access table, and [`admit`] is the one rule every path
//! asks (dispatch, `commands/list`, suggestions).
//!
//! Invariant: nothing here can see `forwarded_for` (it lives in
//! [`crate::command::CallMeta`], which no function in this module takes).

mod admit;
mod caller;
mod decision;

pub use admit::{admit, Admission, Presentation};
pub use caller::{caller_trust, Caller, PeerCaller, Principal, Trust, REMOTE_TRUST_CEILING};
pub use decision::{decide, Allowed, Decision, Denied};
