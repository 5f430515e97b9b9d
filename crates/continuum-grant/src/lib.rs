//! Signed capability grants: the owner-signed statement that lets a peer run
//! named commands, and the pure logic that decides whether one does.
//!
//! Invariant: **no I/O, no async.** Everything here is plain functions over
//! plain data. The one piece of state, the per-grantee epoch watermark, sits
//! behind the [`EpochWatermarks`] trait; the durable implementation lives with
//! the storage adapters, and [`InMemoryWatermarks`] serves tests.
//!
//! - [`body`]: [`GrantBody`], [`SignedGrant`] and the canonical byte encoding
//!   specified in `docs/grant-format.md`.
//! - [`verify()`]: issuer pinned -> strict signature -> key binding -> mesh ->
//!   validity window.
//! - [`confers`]: the capability rule (exact, or prefix on a `/` boundary).
//! - [`authorize()`]: verify -> epoch watermark -> capability, yielding one
//!   [`GrantVerdict`] per kind of denial.

mod authorize;
pub mod body;
mod capability;
mod verdict;
mod verify;
mod watermark;

pub use authorize::{
    authorize, authorize_checked, authorize_text, preview_checked, AuthorizedGrant,
};
pub use body::{issue_grant, DecodeError, GrantBody, GrantSpec, LimitError, SignedGrant};
pub use capability::confers;
pub use verdict::GrantVerdict;
pub use verify::{verify, verify_checked, CheckedSignature, VerifyPolicy};
pub use watermark::{
    EpochDecision, EpochWatermarks, InMemoryWatermarks, WatermarkError, DEFAULT_RETENTION_MS,
};
