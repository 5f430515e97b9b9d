//! `system/info`: version, pid, uptime and where the daemon lives.

use crate::system::DaemonState;
use continuum_kernel::command::{Command, CommandError, Ctx, NoParams};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Serialize;
use std::sync::Arc;

/// Describes the running daemon.
pub(super) struct SystemInfo {
    state: Arc<DaemonState>,
}

impl SystemInfo {
    pub(super) fn new(state: Arc<DaemonState>) -> Self {
        SystemInfo { state }
    }
}

/// Result of `system/info`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SystemInfoResult {
    /// Daemon version.
    pub version: String,
    /// Process id.
    pub pid: u32,
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Start time, Unix milliseconds.
    pub started_at_ms: u64,
    /// The home directory.
    pub home: String,
    /// The Unix socket path.
    pub socket: String,
    /// The TCP listener address, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Number of registered commands.
    pub commands: usize,
}

impl Command for SystemInfo {
    const NAME: &'static str = "system/info";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Version, pid, uptime, home and socket of the daemon.";
    const ACCESS: Access = Access::Trusted;
    type Params = NoParams;
    type Output = SystemInfoResult;

    async fn run(&self, ctx: Ctx, _: NoParams) -> Result<SystemInfoResult, CommandError> {
        let state = &self.state;
        Ok(SystemInfoResult {
            version: state.version.to_owned(),
            pid: std::process::id(),
            uptime_ms: state.started.elapsed().as_millis() as u64,
            started_at_ms: state.started_at_ms,
            home: state.home.display().to_string(),
            socket: state.socket.display().to_string(),
            tcp: state.tcp.map(|addr| addr.to_string()),
            commands: ctx.catalog().len(),
        })
    }
}
