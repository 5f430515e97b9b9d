//! `continuum-kernel`: what every call passes through, and nothing else.
//!
//! - [`command`]: how a command is authored (`Command`), erased, registered
//!   and validated; the per-call [`command::Ctx`] a handler gets.
//! - [`dispatch`]: the one pipeline (lookup, shape, admit, record, validate,
//!   acquire, run, measure).
//! - [`gate`]: callers, trust, and the one admit rule.
//! - [`audit`]: the seam the gate records decisions through.
//! - [`credential`]: grants presented with a call, and the check seam.
//! - [`CallerMint`] / [`Session`]: the only way to start a call.
//!
//! Boundary invariants, held by types:
//! - a [`gate::Caller`] cannot be constructed outside this crate (its variants
//!   are `#[non_exhaustive]`); callers come only from a [`CallerMint`], which
//!   [`KernelBuilder::build`] returns once, to the composition root;
//! - a handler's `Ctx` offers `call` (as the same caller, through the whole
//!   pipeline) and read-only catalog queries; it never exposes the dispatcher
//!   or a command's `invoke` (erased commands are opaque);
//! - `forwarded_for` lives in [`command::CallMeta`], which the gate never takes;
//! - no I/O: stores, sockets and keys live in the crates above.

pub mod audit;
pub mod clock;
pub mod command;
pub mod credential;
pub mod dispatch;
pub mod gate;
mod mint;

pub use mint::{CallerMint, KernelBuilder, PersonaMint, Request, Session};

#[doc(hidden)]
pub use inventory;
