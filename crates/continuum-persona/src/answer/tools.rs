//! A persona's tools: exactly the commands the gate lets it call, as
//! `commands/list` run *as the persona* returns them, with their params
//! schemas. Tool names map slashes to `__` (provider tool names allow only
//! `[A-Za-z0-9_-]`), and the map back is kept, never guessed.

use continuum_inference::ToolSpec;
use continuum_wire::tool_schema::{command_name, portable_schema, tool_name, MAX_TOOL_NAME};
use continuum_wire::CommandDescriptor;
use std::collections::HashMap;

/// The tools offered for one answer, and how their names map back.
#[derive(Debug, Default, Clone)]
pub struct Toolbox {
    specs: Vec<ToolSpec>,
    commands: HashMap<String, String>,
}

impl Toolbox {
    /// Tools for these commands.
    pub fn new(descriptors: Vec<CommandDescriptor>) -> Toolbox {
        let mut toolbox = Toolbox::default();
        for descriptor in descriptors {
            let name = tool_name(&descriptor.name);
            if name.len() > MAX_TOOL_NAME {
                tracing::warn!(command = %descriptor.name, "command name too long for a tool name; not offered");
                continue;
            }
            if toolbox.commands.contains_key(&name) {
                tracing::warn!(command = %descriptor.name, "two commands map to one tool name; skipped");
                continue;
            }
            toolbox.commands.insert(name.clone(), descriptor.name);
            toolbox.specs.push(ToolSpec {
                name,
                description: descriptor.description,
                parameters: portable_schema(&descriptor.params_schema),
            });
        }
        toolbox
    }

    /// The tool specs, for the request.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// The command a tool name stands for. A name that is not one of these
    /// tools still maps (`__` back to `/`): the call then goes to the gate,
    /// which refuses what the persona may not call and audits the attempt.
    /// The toolbox is a courtesy to the model, never the authority.
    pub fn command(&self, tool: &str) -> String {
        match self.commands.get(tool) {
            Some(command) => command.clone(),
            None => command_name(tool),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_wire::Access;
    use serde_json::json;

    fn descriptor(name: &str) -> CommandDescriptor {
        CommandDescriptor {
            name: name.into(),
            description: format!("does {name}"),
            access: Access::AiSafe,
            params_schema: json!({"type": "object"}),
            result_schema: json!({}),
            streaming: false,
            destructive: false,
            read_only: false,
        }
    }

    #[test]
    fn tools_map_to_their_commands_and_back() {
        let toolbox = Toolbox::new(vec![descriptor("memory/remember"), descriptor("ping")]);
        let names: Vec<&str> = toolbox.specs().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["memory__remember", "ping"]);
        assert_eq!(toolbox.command("memory__remember"), "memory/remember");
        assert_eq!(toolbox.command("data__clear-all"), "data/clear-all");
        let ok = |name: &str| {
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        assert!(names.iter().all(|name| ok(name)));
    }
}
