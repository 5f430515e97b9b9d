//! Test-only commands (cargo feature `test-commands`), used by the end-to-end
//! suite to prove panic containment, timeouts and graceful shutdown.

use crate::command::{Command, CommandError, Ctx, Limits, NoParams};
use crate::register_command;
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Panics inside its handler.
#[derive(Default)]
pub struct Panic;

impl Command for Panic {
    const NAME: &'static str = "test/panic";
    const DESCRIPTION: &'static str = "Panic in the handler (test builds only).";
    const ACCESS: Access = Access::AiSafe;
    type Params = NoParams;
    type Output = ();

    async fn run(&self, _: Ctx, _: NoParams) -> Result<(), CommandError> {
        panic!("test/panic was called");
    }
}

register_command!(Panic);

/// Sleeps, then answers.
#[derive(Default)]
pub struct Sleep;

/// Params of `test/sleep`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SleepParams {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
}

impl Command for Sleep {
    const NAME: &'static str = "test/sleep";
    const DESCRIPTION: &'static str = "Sleep for `ms` milliseconds (test builds only).";
    const ACCESS: Access = Access::AiSafe;
    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(2),
        max_concurrency: None,
    };
    type Params = SleepParams;
    type Output = SleepParams;

    async fn run(&self, _: Ctx, params: SleepParams) -> Result<SleepParams, CommandError> {
        tokio::time::sleep(Duration::from_millis(params.ms)).await;
        Ok(params)
    }
}

register_command!(Sleep);

/// Calls another command by name through its context (composition).
#[derive(Default)]
pub struct Compose;

/// Params of `test/compose`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeParams {
    /// The command to call.
    pub command: String,
    /// Its params.
    #[serde(default)]
    pub params: serde_json::Value,
}

impl Command for Compose {
    const NAME: &'static str = "test/compose";
    const DESCRIPTION: &'static str = "Call another command as the same caller (test builds only).";
    const ACCESS: Access = Access::AiSafe;
    type Params = ComposeParams;
    type Output = serde_json::Value;

    async fn run(
        &self,
        ctx: Ctx,
        params: ComposeParams,
    ) -> Result<serde_json::Value, CommandError> {
        ctx.call_by_name(&params.command, params.params).await
    }
}

register_command!(Compose);
