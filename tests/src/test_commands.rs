//! Test-only commands, used by the end-to-end suite to prove panic
//! containment, timeouts, limits, composition and graceful shutdown. They
//! live here, in the e2e crate, and reach only the test daemon
//! (`continuum-core-test`) through [`TestCommands`]; no product binary links
//! this crate, whatever cargo is asked to build.

use continuum_kernel::command::{
    erase, Command, CommandError, Ctx, ErasedCommand, Limits, Module, NoParams,
};
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
        ..Limits::DEFAULT
    };
    type Params = SleepParams;
    type Output = SleepParams;

    async fn run(&self, _: Ctx, params: SleepParams) -> Result<SleepParams, CommandError> {
        tokio::time::sleep(Duration::from_millis(params.ms)).await;
        Ok(params)
    }
}

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

/// Contributes the test-only commands.
pub struct TestCommands;

impl Module for TestCommands {
    fn commands(&self) -> Vec<ErasedCommand> {
        vec![erase(Panic), erase(Sleep), erase(Compose)]
    }
}
