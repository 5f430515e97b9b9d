//! Capability grants as seen by the dispatcher: a check the gate consults when a
//! peer presents a grant for a command above its trust ceiling.

mod authorizer;

pub use authorizer::{GrantAuthorizer, MAX_CLOCK_SKEW_MS};

use crate::command::BoxFuture;
use crate::gate::PeerCaller;

/// Verifies a peer's presented grant for one command.
pub trait GrantCheck: Send + Sync {
    /// Full authorization (advances the epoch watermark). `Err` carries the
    /// stable verdict code for the audit log.
    fn check<'a>(
        &'a self,
        peer: &'a PeerCaller,
        command: &'a str,
    ) -> BoxFuture<'a, Result<(), &'static str>>;
    /// Whether the grant would confer `command`, without side effects
    /// (used by `commands/list`).
    fn peek<'a>(&'a self, peer: &'a PeerCaller, command: &'a str) -> BoxFuture<'a, bool>;
}
