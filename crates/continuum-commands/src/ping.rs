//! `ping`: the cheapest round trip, used for liveness and benchmarks.

use continuum_kernel::clock::now_ms;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_kernel::register_command;
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Answers with `pong` and the server time.
#[derive(Default)]
pub(crate) struct Ping;

/// Params of `ping`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PingParams {
    /// Text to echo back.
    #[serde(default)]
    pub message: Option<String>,
}

/// Result of `ping`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PingResult {
    /// Always true.
    pub pong: bool,
    /// The message, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Server time, Unix milliseconds.
    pub server_time_ms: u64,
}

impl Command for Ping {
    const NAME: &'static str = "ping";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Check that the daemon answers; echoes an optional message.";
    const ACCESS: Access = Access::AiSafe;
    type Params = PingParams;
    type Output = PingResult;

    async fn run(&self, _ctx: Ctx, params: PingParams) -> Result<PingResult, CommandError> {
        Ok(PingResult {
            pong: true,
            message: params.message,
            server_time_ms: now_ms(),
        })
    }
}

register_command!(Ping);
