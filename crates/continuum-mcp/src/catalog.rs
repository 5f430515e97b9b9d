//! The daemon's command descriptors as MCP tools.
//!
//! The tool list is `commands/list` made with the session's identity, so
//! what is listed is exactly what the gate lets the session call. The list
//! is a courtesy, never the authority: a call to a tool that is not listed
//! still goes to the daemon, whose gate refuses and audits it.

use continuum_wire::tool_schema::{
    command_name, portable_schema, self_contained_schema, tool_name, MAX_TOOL_NAME,
};
use continuum_wire::CommandDescriptor;
use rmcp::model::{Tool, ToolAnnotations};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// One listing of the session's tools.
#[derive(Debug, Default)]
pub struct Catalog {
    tools: Vec<Tool>,
    commands: HashMap<String, Entry>,
    digest: String,
}

/// What a call needs to know about its command.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The command the tool stands for.
    pub command: String,
    /// Whether it sends `$/stream` events before its result.
    pub streaming: bool,
    /// Whether its result is an object (so it is `structuredContent`).
    pub structured: bool,
}

impl Catalog {
    /// The tools for these descriptors, in the daemon's order.
    pub fn new(descriptors: &[CommandDescriptor]) -> Catalog {
        let mut catalog = Catalog::default();
        let mut hasher = Sha256::new();
        for descriptor in descriptors {
            let name = tool_name(&descriptor.name);
            if name.len() > MAX_TOOL_NAME {
                tracing::warn!(command = %descriptor.name, "command name too long for a tool name; not listed");
                continue;
            }
            let tool = tool_of(&name, descriptor);
            hasher.update(serde_json::to_vec(&tool).unwrap_or_default());
            catalog.commands.insert(
                name,
                Entry {
                    command: descriptor.name.clone(),
                    streaming: descriptor.streaming,
                    structured: tool.output_schema.is_some(),
                },
            );
            catalog.tools.push(tool);
        }
        catalog.digest = hex::encode(hasher.finalize());
        catalog
    }

    /// The tools, for `tools/list`.
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.clone()
    }

    /// Identifies this exact list: equal digests, equal lists.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The entry for a tool name. A name that is not listed still maps back
    /// to a command (`__` to `/`), so the daemon decides and audits.
    pub fn entry(&self, tool: &str) -> Entry {
        self.commands.get(tool).cloned().unwrap_or_else(|| Entry {
            command: command_name(tool),
            streaming: false,
            structured: false,
        })
    }
}

fn tool_of(name: &str, descriptor: &CommandDescriptor) -> Tool {
    let Value::Object(input) = portable_schema(&descriptor.params_schema) else {
        unreachable!("a params schema is an object (the registry checks at boot)")
    };
    let annotations = ToolAnnotations::new()
        .read_only(descriptor.read_only)
        .destructive(descriptor.destructive);
    let mut tool = Tool::new(
        name.to_owned(),
        descriptor.description.clone(),
        Arc::new(input),
    )
    .with_title(descriptor.name.clone())
    .with_annotations(annotations);
    // Only an object result can be `structuredContent`. Its schema keeps
    // `null`s (clients check every result against it).
    if descriptor.result_schema.get("type").and_then(Value::as_str) == Some("object") {
        if let Value::Object(output) = self_contained_schema(&descriptor.result_schema) {
            tool = tool.with_raw_output_schema(Arc::new(output));
        }
    }
    tool
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_wire::Access;
    use serde_json::json;

    fn descriptor(name: &str, result: Value) -> CommandDescriptor {
        CommandDescriptor {
            name: name.into(),
            description: format!("does {name}"),
            access: Access::AiSafe,
            params_schema: json!({"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}),
            result_schema: result,
            streaming: false,
            destructive: false,
            read_only: true,
        }
    }

    #[test]
    fn tools_map_names_schemas_and_annotations() {
        let catalog = Catalog::new(&[
            descriptor(
                "memory/recall",
                json!({"type": "object", "properties": {"x": {"type": ["string", "null"]}}}),
            ),
            descriptor("ping", json!({"type": "string"})),
        ]);
        let tools = catalog.tools();
        assert_eq!(tools[0].name, "memory__recall");
        assert_eq!(tools[0].title.as_deref(), Some("memory/recall"));
        assert_eq!(tools[0].input_schema["properties"]["n"]["type"], "integer");
        let output = tools[0]
            .output_schema
            .as_ref()
            .expect("an object result has a schema");
        assert_eq!(output["properties"]["x"]["type"], json!(["string", "null"]));
        assert!(tools[1].output_schema.is_none());
        let annotations = tools[0].annotations.as_ref().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true));
        assert_eq!(annotations.destructive_hint, Some(false));
        assert!(catalog.entry("memory__recall").structured);
        assert_eq!(catalog.entry("system__shutdown").command, "system/shutdown");
    }

    #[test]
    fn the_digest_follows_the_list() {
        let one = Catalog::new(&[descriptor("ping", json!({}))]);
        let same = Catalog::new(&[descriptor("ping", json!({}))]);
        let other = Catalog::new(&[descriptor("ping", json!({})), descriptor("a/b", json!({}))]);
        assert_eq!(one.digest(), same.digest());
        assert_ne!(one.digest(), other.digest());
    }
}
