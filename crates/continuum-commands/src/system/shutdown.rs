//! `system/shutdown`: graceful stop (same path as SIGTERM).

use crate::system::DaemonState;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use schemars::JsonSchema;
use serde::Serialize;
use std::sync::Arc;

/// Stops accepting, finishes in-flight work, flushes stores, removes the
/// socket and pid file. Owner-only.
pub(super) struct SystemShutdown {
    state: Arc<DaemonState>,
}

impl SystemShutdown {
    pub(super) fn new(state: Arc<DaemonState>) -> Self {
        SystemShutdown { state }
    }
}

/// Result of `system/shutdown`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ShutdownResult {
    /// Always true: shutdown has begun.
    pub shutting_down: bool,
    /// The daemon's pid, to wait on.
    pub pid: u32,
}

impl Command for SystemShutdown {
    const NAME: &'static str = "system/shutdown";
    const DESCRIPTION: &'static str =
        "Stop the daemon gracefully: finish in-flight work, flush stores, clean up.";
    type Params = NoParams;
    type Output = ShutdownResult;

    async fn run(&self, _ctx: Ctx, _: NoParams) -> Result<ShutdownResult, CommandError> {
        tracing::info!("shutdown requested over the socket");
        self.state.shutdown.cancel();
        Ok(ShutdownResult {
            shutting_down: true,
            pid: std::process::id(),
        })
    }
}
