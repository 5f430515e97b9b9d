//! `system/metrics`: per-command call counts, errors and latency percentiles.

use crate::system::DaemonState;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_kernel::dispatch::LatencySummary;
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Reports what each command has done since start.
pub(super) struct SystemMetrics {
    state: Arc<DaemonState>,
}

impl SystemMetrics {
    pub(super) fn new(state: Arc<DaemonState>) -> Self {
        SystemMetrics { state }
    }
}

/// Params of `system/metrics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SystemMetricsParams {
    /// Only commands whose name contains this text.
    #[serde(default)]
    pub filter: Option<String>,
    /// Include commands never called (default false).
    #[serde(default)]
    pub all: bool,
}

/// One command's figures.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommandMetrics {
    /// Command name.
    pub name: String,
    /// Calls that reached the handler.
    pub calls: u64,
    /// Of which ended in an error.
    pub errors: u64,
    /// Latency percentiles (absent before the first call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
}

/// Result of `system/metrics`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SystemMetricsResult {
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Per-command figures, sorted by name.
    pub commands: Vec<CommandMetrics>,
}

impl Command for SystemMetrics {
    const NAME: &'static str = "system/metrics";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Per-command call counts, errors and latency percentiles.";
    const ACCESS: Access = Access::Trusted;
    type Params = SystemMetricsParams;
    type Output = SystemMetricsResult;

    async fn run(
        &self,
        ctx: Ctx,
        params: SystemMetricsParams,
    ) -> Result<SystemMetricsResult, CommandError> {
        let commands = ctx
            .catalog()
            .stats()
            .filter(|(name, _)| params.filter.as_deref().is_none_or(|f| name.contains(f)))
            .filter(|(_, stats)| params.all || stats.calls() > 0)
            .map(|(name, stats)| CommandMetrics {
                name: name.to_owned(),
                calls: stats.calls(),
                errors: stats.errors(),
                latency: stats.latency(),
            })
            .collect();
        Ok(SystemMetricsResult {
            uptime_ms: self.state.started.elapsed().as_millis() as u64,
            commands,
        })
    }
}
