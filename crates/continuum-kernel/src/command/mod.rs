//! The command framework: how a command is authored, erased, registered and
//! validated. Nothing here knows any particular command.
//!
//! Handlers never touch a [`Registry`] entry's command: the erased object is
//! opaque outside the kernel, and the only way to run a command is a call
//! through the dispatcher (from a transport's [`crate::Session`] or a
//! handler's [`Ctx::call`]).
//!
//! Authoring a command means one type implementing [`Command`]: a name, a
//! description, an access level, a params type and an output type (both serde +
//! schemars), and one async `run`. The descriptor, the JSON Schemas, the param
//! validator and the type-erased routable object are all derived from that.

mod context;
mod erased;
mod error;
mod registry;
mod validate;

pub use context::{CallMeta, Catalog, Ctx, StreamSink};
pub(crate) use erased::DynCommand;
pub use erased::{erase, BoxFuture, ErasedCommand};
pub use error::CommandError;
pub use registry::{
    Entry, LimitOverride, Module, Registration, Registry, RegistryBuilder, RegistryError,
};

use continuum_wire::Access;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// Per-command execution limits, applied by the dispatch layer. A command
/// declares its defaults; the daemon's config file may override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a single call may run before it is answered with `timeout`.
    pub timeout: Duration,
    /// Most calls of this command running at once; `None` = unlimited.
    pub max_concurrency: Option<usize>,
    /// How long a call over `max_concurrency` waits for a slot before it is
    /// answered with `overloaded`.
    pub max_wait: Duration,
}

impl Limits {
    /// 30 s, unlimited concurrency, 5 s of waiting when a limit is set.
    pub const DEFAULT: Limits = Limits {
        timeout: Duration::from_secs(30),
        max_concurrency: None,
        max_wait: Duration::from_secs(5),
    };
}

/// A command: one type, one `run`.
///
/// ```ignore
/// #[derive(Default)]
/// pub struct Ping;
/// impl Command for Ping {
///     const NAME: &'static str = "ping";
///     const DESCRIPTION: &'static str = "Check the daemon answers.";
///     const ACCESS: Access = Access::AiSafe;
///     type Params = PingParams;
///     type Output = PingResult;
///     async fn run(&self, _ctx: Ctx, p: PingParams) -> Result<PingResult, CommandError> { ... }
/// }
/// register_command!(Ping);
/// ```
pub trait Command: Send + Sync + 'static {
    /// Slash-separated name, also the JSON-RPC method (`data/list`).
    const NAME: &'static str;
    /// One line for humans, shown by `commands/list` and `cu <cmd> --help`.
    const DESCRIPTION: &'static str;
    /// Who may call it. Unclassified commands are owner-only.
    const ACCESS: Access = Access::OwnerOnly;
    /// Timeout and concurrency limit.
    const LIMITS: Limits = Limits::DEFAULT;
    /// Whether it sends `$/stream` notifications before its result.
    const STREAMING: bool = false;
    /// Whether it overwrites or deletes data. A destructive command must be
    /// owner-only: the registry refuses to build otherwise.
    const DESTRUCTIVE: bool = false;
    /// Whether it only reads (no store changes, nothing sent or started).
    /// MCP clients skip their confirmation prompt for read-only tools, so
    /// mark only what truly writes nothing. Not with `DESTRUCTIVE`.
    const READ_ONLY: bool = false;

    /// Params; validated against their schema before `run` sees them.
    type Params: DeserializeOwned + JsonSchema + Send + 'static;
    /// The result.
    type Output: Serialize + JsonSchema + Send + 'static;

    /// Does the work.
    fn run(
        &self,
        ctx: Ctx,
        params: Self::Params,
    ) -> impl Future<Output = Result<Self::Output, CommandError>> + Send;
}

/// Params of a command that takes none. Unknown fields are rejected.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Registers a stateless command (one that implements `Default`) with the
/// global catalog. Dependency-holding commands come from a [`Module`] instead.
#[macro_export]
macro_rules! register_command {
    ($ty:ty) => {
        $crate::inventory::submit! {
            $crate::command::Registration {
                build: || $crate::command::erase(<$ty as ::core::default::Default>::default()),
            }
        }
    };
}
