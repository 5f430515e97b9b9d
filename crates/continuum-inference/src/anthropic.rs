//! Anthropic Messages: `POST {base_url}/v1/messages`.
//!
//! System messages become the `system` prompt; tool results become
//! `tool_result` blocks in a user turn (consecutive turns of one role are
//! merged, as the API expects alternation). Thinking blocks are the
//! reasoning; text blocks still pass the reasoning split defensively.
//! Thinking `on` sends `thinking: {type: "enabled", budget_tokens}`, raises
//! `max_tokens` above the budget when needed and drops `temperature` (the
//! API rejects it with thinking); `default` and `suppress` send nothing.
//! Thinking blocks of earlier turns are not replayed (we keep no
//! signatures), so extended thinking across tool-use turns is not supported.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::adapter::{EventStream, InferenceAdapter};
use crate::config::{ConfigError, CredentialSource, ProviderConfig, ProviderKind};
use crate::error::InferenceError;
use crate::reasoning::{separate_reasoning, Delta, LoneClose, ReasoningSplitter};
use crate::request::{GenerateRequest, Role};
use crate::response::{FinishReason, GenerateResponse, StreamEvent, ToolCall, Usage};
use crate::sse::SseEvent;
use crate::thinking::ThinkingMode;
use crate::transport::{decode_json, Auth, Flow, SseDecoder, Transport};
use std::sync::Arc;

/// Adapter for the Anthropic Messages API.
#[derive(Debug)]
pub struct AnthropicAdapter {
    transport: Transport,
    model: String,
    thinking: ThinkingMode,
    budget_tokens: u32,
    max_tokens: u32,
    lone_close: LoneClose,
}

impl AnthropicAdapter {
    /// Builds the adapter; `credentials` resolves its key at each request.
    /// `config.thinking` is the effective default (environment applied).
    pub fn new(
        config: &ProviderConfig,
        credentials: Arc<dyn CredentialSource>,
    ) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        let version = HeaderValue::from_str(&config.anthropic_version).map_err(|_| {
            ConfigError::InvalidValue {
                provider: config.name.clone(),
                field: "anthropic_version",
                message: "is not a valid header value".into(),
            }
        })?;
        headers.insert(HeaderName::from_static("anthropic-version"), version);
        Ok(Self {
            transport: Transport::new(config, credentials, Auth::XApiKey, headers)?,
            model: config.model.clone(),
            thinking: config.thinking,
            budget_tokens: config.thinking_budget_tokens,
            max_tokens: config.max_tokens.unwrap_or(4096),
            lone_close: config.lone_close.unwrap_or(LoneClose::Text),
        })
    }

    /// Checks every connection against `egress` first.
    pub fn with_egress(mut self, egress: Arc<dyn continuum_egress::EgressPolicy>) -> Self {
        self.transport.set_egress(egress);
        self
    }

    fn url(&self) -> String {
        format!("{}/v1/messages", self.transport.base_url)
    }

    fn body(&self, request: GenerateRequest, stream: bool) -> Value {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        let mode = request.thinking.unwrap_or(self.thinking);
        build_body(
            request,
            &model,
            mode,
            self.budget_tokens,
            self.max_tokens,
            stream,
        )
    }

    async fn generate_whole(
        &self,
        request: GenerateRequest,
    ) -> Result<GenerateResponse, InferenceError> {
        let actor = request.on_behalf.clone();
        let body = self.body(request, false);
        let response = self
            .transport
            .post(&self.url(), &body, false, actor.as_ref())
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport.body_error(e))?;
        parse_message(&self.transport.provider, &bytes, self.lone_close)
    }

    async fn start_stream(&self, request: GenerateRequest) -> Result<EventStream, InferenceError> {
        let actor = request.on_behalf.clone();
        let body = self.body(request, true);
        let response = self
            .transport
            .post(&self.url(), &body, true, actor.as_ref())
            .await?;
        Ok(self.transport.sse_stream(
            response,
            EventDecoder::new(&self.transport.provider, self.lone_close),
        ))
    }
}

impl InferenceAdapter for AnthropicAdapter {
    fn provider(&self) -> &str {
        &self.transport.provider
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn generate(
        &self,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<GenerateResponse, InferenceError>> {
        Box::pin(self.generate_whole(request))
    }

    fn generate_stream(
        &self,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<EventStream, InferenceError>> {
        Box::pin(self.start_stream(request))
    }
}

/// The request body. Pure, pinned by tests.
pub(crate) fn build_body(
    request: GenerateRequest,
    model: &str,
    mode: ThinkingMode,
    budget_tokens: u32,
    default_max_tokens: u32,
    stream: bool,
) -> Value {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in &request.messages {
        let (role, blocks) = match m.role {
            Role::System => {
                system.push(m.content.clone());
                continue;
            }
            Role::User => ("user", text_block(&m.content)),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content,
                })],
            ),
            Role::Assistant => {
                let mut blocks = text_block(&m.content);
                blocks.extend(m.tool_calls.iter().map(|c| {
                    let input = match &c.arguments {
                        Value::Object(_) => c.arguments.clone(),
                        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| json!({})),
                        _ => json!({}),
                    };
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
                }));
                ("assistant", blocks)
            }
        };
        if blocks.is_empty() {
            continue; // the API rejects empty content
        }
        match turns.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let mut max_tokens = request.max_tokens.unwrap_or(default_max_tokens);
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert(
        "messages".into(),
        Value::Array(
            turns
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        ),
    );
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    if mode == ThinkingMode::On {
        // max_tokens counts the thinking budget: keep room for the answer.
        if max_tokens <= budget_tokens {
            max_tokens = budget_tokens.saturating_add(max_tokens);
        }
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget_tokens}),
        );
    } else if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    body.insert("max_tokens".into(), json!(max_tokens));
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

fn text_block(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u32>,
    #[serde(default)]
    output_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    model: String,
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

fn finish_reason(raw: Option<&str>) -> FinishReason {
    match raw {
        None | Some("end_turn") | Some("stop_sequence") => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

fn error_message(value: &Value) -> String {
    let error = value.get("error").unwrap_or(value);
    match (
        error.get("type").and_then(Value::as_str),
        error.get("message").and_then(Value::as_str),
    ) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_owned(),
        _ => value.to_string(),
    }
}

/// Decodes a whole Messages response and separates its reasoning.
pub(crate) fn parse_message(
    provider: &str,
    bytes: &[u8],
    lone_close: LoneClose,
) -> Result<GenerateResponse, InferenceError> {
    let value: Value = decode_json(provider, bytes)?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(InferenceError::Provider {
            provider: provider.to_owned(),
            message: error_message(&value),
        });
    }
    let wire: WireMessage = serde_json::from_value(value).map_err(|e| InferenceError::Decode {
        provider: provider.to_owned(),
        detail: format!("not a Messages response: {e}"),
    })?;
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    for block in wire.content {
        match block {
            WireBlock::Text { text: t } => text.push_str(&t),
            WireBlock::Thinking { thinking: t } => thinking.push_str(&t),
            WireBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: input,
            }),
            WireBlock::Other => {}
        }
    }
    let separated = separate_reasoning(&text, Some(&thinking), lone_close);
    Ok(GenerateResponse {
        text: separated.text,
        reasoning: separated.reasoning,
        tool_calls,
        usage: Usage {
            prompt_tokens: wire.usage.input_tokens.unwrap_or(0),
            completion_tokens: wire.usage.output_tokens.unwrap_or(0),
        },
        finish_reason: finish_reason(wire.stop_reason.as_deref()),
        model: wire.model,
    })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: WireStartMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: WireBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: WireDelta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        #[serde(default)]
        delta: WireMessageDelta,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Ping,
    Error {
        error: Value,
    },
}

#[derive(Deserialize)]
struct WireStartMessage {
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct WireMessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

struct PartialToolUse {
    id: String,
    name: String,
    json: String,
    input: Value,
}

/// Streaming state for one Messages response.
pub(crate) struct EventDecoder {
    provider: String,
    lone_close: LoneClose,
    splitter: ReasoningSplitter,
    text: String,
    thinking: String,
    tools: BTreeMap<usize, PartialToolUse>,
    usage: Usage,
    stop_reason: Option<String>,
    model: String,
}

impl EventDecoder {
    pub(crate) fn new(provider: &str, lone_close: LoneClose) -> Self {
        Self {
            provider: provider.to_owned(),
            lone_close,
            splitter: ReasoningSplitter::new(lone_close),
            text: String::new(),
            thinking: String::new(),
            tools: BTreeMap::new(),
            usage: Usage::default(),
            stop_reason: None,
            model: String::new(),
        }
    }
}

fn to_events(deltas: Vec<Delta>, out: &mut Vec<StreamEvent>) {
    out.extend(deltas.into_iter().map(|d| match d {
        Delta::Text(t) => StreamEvent::TextDelta(t),
        Delta::Reasoning(r) => StreamEvent::ReasoningDelta(r),
    }));
}

impl SseDecoder for EventDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Flow, InferenceError> {
        let value: Value = decode_json(&self.provider, event.data.as_bytes())?;
        if value.get("type").and_then(Value::as_str) == Some("error") {
            return Err(InferenceError::Provider {
                provider: self.provider.clone(),
                message: error_message(&value),
            });
        }
        let Ok(wire) = serde_json::from_value::<WireEvent>(value) else {
            // Event types added after this was written are skipped, as the
            // API's versioning policy asks.
            return Ok(Flow::Continue);
        };
        match wire {
            WireEvent::MessageStart { message } => {
                self.model = message.model;
                self.usage.prompt_tokens = message.usage.input_tokens.unwrap_or(0);
                self.usage.completion_tokens = message.usage.output_tokens.unwrap_or(0);
            }
            WireEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                WireBlock::Text { text } => self.on_text(&text, out),
                WireBlock::Thinking { thinking } => self.on_thinking(&thinking, out),
                WireBlock::ToolUse { id, name, input } => {
                    self.tools.insert(
                        index,
                        PartialToolUse {
                            id,
                            name,
                            json: String::new(),
                            input,
                        },
                    );
                }
                WireBlock::Other => {}
            },
            WireEvent::ContentBlockDelta { index, delta } => match delta {
                WireDelta::TextDelta { text } => self.on_text(&text, out),
                WireDelta::ThinkingDelta { thinking } => self.on_thinking(&thinking, out),
                WireDelta::InputJsonDelta { partial_json } => {
                    if let Some(tool) = self.tools.get_mut(&index) {
                        tool.json.push_str(&partial_json);
                    }
                }
                WireDelta::Other => {}
            },
            WireEvent::ContentBlockStop { index } => {
                if let Some(tool) = self.tools.get_mut(&index) {
                    if !tool.json.trim().is_empty() {
                        tool.input = serde_json::from_str(&tool.json).map_err(|e| {
                            InferenceError::Decode {
                                provider: self.provider.clone(),
                                detail: format!("tool_use input is not JSON: {e}"),
                            }
                        })?;
                    }
                }
            }
            WireEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(n) = usage.output_tokens {
                    self.usage.completion_tokens = n;
                }
                if let Some(n) = usage.input_tokens {
                    self.usage.prompt_tokens = n;
                }
            }
            WireEvent::MessageStop => return Ok(Flow::Finished),
            WireEvent::Ping => {}
            WireEvent::Error { error } => {
                return Err(InferenceError::Provider {
                    provider: self.provider.clone(),
                    message: error_message(&error),
                })
            }
        }
        Ok(Flow::Continue)
    }

    fn complete_without_marker(&self) -> bool {
        false
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        to_events(self.splitter.finish(), out);
        let separated = separate_reasoning(&self.text, Some(&self.thinking), self.lone_close);
        let tool_calls = std::mem::take(&mut self.tools)
            .into_values()
            .map(|t| ToolCall {
                id: t.id,
                name: t.name,
                arguments: if t.input.is_null() {
                    json!({})
                } else {
                    t.input
                },
            })
            .collect();
        out.push(StreamEvent::Done(GenerateResponse {
            text: separated.text,
            reasoning: separated.reasoning,
            tool_calls,
            usage: self.usage,
            finish_reason: finish_reason(self.stop_reason.as_deref()),
            model: std::mem::take(&mut self.model),
        }));
    }
}

impl EventDecoder {
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        self.text.push_str(text);
        to_events(self.splitter.push(text), out);
    }

    fn on_thinking(&mut self, thinking: &str, out: &mut Vec<StreamEvent>) {
        self.thinking.push_str(thinking);
        to_events(self.splitter.push_server_reasoning(thinking), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Message, ToolSpec};

    fn request() -> GenerateRequest {
        GenerateRequest::new(vec![
            Message::system("You are Asha."),
            Message::system("Be brief."),
            Message::user("time?"),
        ])
    }

    #[test]
    fn system_messages_become_the_system_prompt() {
        let body = build_body(
            request(),
            "claude",
            ThinkingMode::Default,
            1024,
            4096,
            false,
        );
        assert_eq!(body["system"], "You are Asha.\n\nBe brief.");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "time?"}]}])
        );
        assert_eq!(body["max_tokens"], 4096);
    }

    #[test]
    fn thinking_on_sends_a_budget_and_keeps_room_for_the_answer() {
        let mut req = request();
        req.max_tokens = Some(500);
        req.temperature = Some(0.2);
        let body = build_body(req, "claude", ThinkingMode::On, 2048, 4096, false);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(body["max_tokens"], 2548);
        assert!(body.get("temperature").is_none());
    }

    #[test]
    fn suppress_and_default_send_no_thinking_param() {
        for mode in [ThinkingMode::Suppress, ThinkingMode::Default] {
            let body = build_body(request(), "claude", mode, 1024, 4096, false);
            assert!(body.get("thinking").is_none());
        }
    }

    #[test]
    fn tool_turns_map_to_tool_use_and_merged_tool_results() {
        let mut req = request();
        req.tools.push(ToolSpec {
            name: "clock".into(),
            description: "time".into(),
            parameters: json!({"type": "object"}),
        });
        let mut assistant = Message::assistant("Checking.");
        for id in ["t1", "t2"] {
            assistant.tool_calls.push(ToolCall {
                id: id.into(),
                name: "clock".into(),
                arguments: json!({}),
            });
        }
        req.messages.push(assistant);
        req.messages.push(Message::tool_result("t1", "16:30"));
        req.messages.push(Message::tool_result("t2", "UTC"));
        let body = build_body(req, "claude", ThinkingMode::Default, 1024, 4096, false);
        assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["content"][1]["type"], "tool_use");
        assert_eq!(messages[2]["role"], "user");
        assert_eq!(messages[2]["content"].as_array().unwrap().len(), 2);
        assert_eq!(messages[2]["content"][1]["tool_use_id"], "t2");
    }
}
