//! What a caller asks of a model: messages, tools, thinking mode and limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::response::ToolCall;
use crate::thinking::ThinkingMode;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The human (or the persona's caller).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering `tool_call_id`.
    Tool,
}

/// One turn of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (for a tool message: the tool's result).
    #[serde(default)]
    pub content: String,
    /// For [`Role::Tool`]: the id of the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For [`Role::Assistant`]: the tool calls the model made in this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_call_id: None,
            tool_calls: Vec::new(),
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool result answering the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of its arguments object.
    pub parameters: serde_json::Value,
}

/// One generation request, provider-neutral.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateRequest {
    /// Model to use; `None` uses the provider's configured model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Overrides the provider's (and the environment's) thinking mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingMode>,
    /// Upper bound on generated tokens; `None` uses the provider default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// On whose behalf the provider's credential is used. Set by the daemon
    /// from the proven caller; never read from or written to the wire.
    #[serde(skip)]
    #[schemars(skip)]
    pub on_behalf: Option<crate::config::CredentialActor>,
}

impl GenerateRequest {
    /// A request with these messages and defaults for everything else.
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_camel_case_json_and_publishes_a_schema() {
        let mut req = GenerateRequest::new(vec![Message::tool_result("call_1", "16:30")]);
        req.max_tokens = Some(64);
        req.thinking = Some(ThinkingMode::Suppress);
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["maxTokens"], 64);
        assert_eq!(json["thinking"], "suppress");
        assert_eq!(json["messages"][0]["toolCallId"], "call_1");
        assert_eq!(json["messages"][0]["role"], "tool");
        let back: GenerateRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, req);
        let schema = serde_json::to_value(schemars::schema_for!(GenerateRequest)).unwrap();
        assert!(schema["properties"]["maxTokens"].is_object(), "{schema}");
    }
}
