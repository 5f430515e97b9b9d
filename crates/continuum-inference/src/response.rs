//! What a model answered: clean text, reasoning, tool calls, usage.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A call the model asked the caller to make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    /// Provider-assigned id, echoed back in the tool result message.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments object (a JSON string if the model sent invalid JSON).
    pub arguments: serde_json::Value,
}

/// Token counts, as reported by the provider (zero when it reported none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// The token limit was reached.
    Length,
    /// The model is waiting for tool results.
    ToolCalls,
    /// The provider withheld or cut the answer.
    ContentFilter,
    /// Anything else, verbatim.
    Other(String),
}

/// A finished generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    /// The answer, with all reasoning removed. Empty when the model never
    /// finished reasoning: callers must not post an empty answer.
    pub text: String,
    /// The model's reasoning, when it produced any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Tools the model asked to call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Token counts.
    pub usage: Usage,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// The model that answered, as the provider named it.
    pub model: String,
}

/// One event of a streamed generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "type", content = "data")]
pub enum StreamEvent {
    /// More of the answer.
    TextDelta(String),
    /// More of the reasoning.
    ReasoningDelta(String),
    /// The end: the same response the non-streaming path would return.
    Done(GenerateResponse),
}
