//! `commands/list`: the catalog as the caller may use it. Listed == callable:
//! the kernel's one `admit` rule decides, with no side effect.

use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_kernel::register_command;
use continuum_wire::{Access, CommandDescriptor};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lists the commands the caller may call.
#[derive(Default)]
pub(crate) struct CommandsList;

/// Params of `commands/list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandsListParams {
    /// Only commands whose name contains this text.
    #[serde(default)]
    pub filter: Option<String>,
    /// Only the command with exactly this name.
    #[serde(default)]
    pub name: Option<String>,
    /// Include params and result schemas (default true).
    #[serde(default)]
    pub schemas: Option<bool>,
}

/// Result of `commands/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CommandsListResult {
    /// Matching commands, sorted by name.
    pub commands: Vec<CommandDescriptor>,
}

impl Command for CommandsList {
    const NAME: &'static str = "commands/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "List the commands you may call: name, description, access, params and result JSON Schemas.";
    const ACCESS: Access = Access::AiSafe;
    type Params = CommandsListParams;
    type Output = CommandsListResult;

    async fn run(
        &self,
        ctx: Ctx,
        params: CommandsListParams,
    ) -> Result<CommandsListResult, CommandError> {
        let with_schemas = params.schemas.unwrap_or(true);
        let commands = ctx
            .catalog()
            .callable()
            .await
            .into_iter()
            .filter(|descriptor| {
                params
                    .name
                    .as_deref()
                    .is_none_or(|name| name == descriptor.name)
            })
            .filter(|descriptor| {
                params
                    .filter
                    .as_deref()
                    .is_none_or(|filter| descriptor.name.contains(filter))
            })
            .map(|descriptor| {
                let mut descriptor = CommandDescriptor::clone(&descriptor);
                if !with_schemas {
                    descriptor.params_schema = serde_json::Value::Null;
                    descriptor.result_schema = serde_json::Value::Null;
                }
                descriptor
            })
            .collect();
        Ok(CommandsListResult { commands })
    }
}

register_command!(CommandsList);
