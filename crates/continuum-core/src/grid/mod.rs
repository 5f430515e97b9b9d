//! This node in the grid: its identity and the grants it issued or holds.
//! The grant checks themselves live in [`crate::grants`]; the commands in
//! `commands::grid`.

pub mod identity;
pub mod ledger;

pub use identity::{IdentityError, NodeIdentity};
pub use ledger::{GrantLedger, HeldGrant, HoldOutcome, IssuedGrant};
