//! `ping`: the cheapest round trip, used for liveness and benchmarks.

use crate::audit::now_ms;
use crate::command::{Command, CommandError, Ctx};
use crate::register_command;
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Answers with `pong` and the server time.
#[derive(Default)]
pub struct Ping;

/// Params of `ping`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PingParams {
    /// Text to echo back.
    #[serde(default)]
    pub message: Option<String>,
}

/// Result of `ping`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingResult {
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
