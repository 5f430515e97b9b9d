//! OpenAI-compatible chat completions: `POST {base_url}/chat/completions`.
//!
//! Covers llama.cpp server, Ollama (`/v1`), vLLM, OpenRouter, Groq and
//! OpenAI. Reasoning is read from whichever field the server uses
//! (`reasoning_content`: llama.cpp, DeepSeek; `reasoning`: vLLM, OpenRouter,
//! Groq; `thinking`: Ollama) and otherwise split out of inline `<think>`
//! tags. `max_tokens` is sent as `max_tokens` (accepted by every server
//! above; OpenAI's reasoning models want `max_completion_tokens` and are best
//! left without a limit).

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::adapter::{EventStream, InferenceAdapter};
use crate::config::{ConfigError, CredentialSource, ProviderConfig, ProviderKind};
use crate::error::InferenceError;
use crate::reasoning::{separate_reasoning, Delta, LoneClose, ReasoningSplitter};
use crate::request::{GenerateRequest, Message, Role};
use crate::response::{FinishReason, GenerateResponse, StreamEvent, ToolCall, Usage};
use crate::sse::SseEvent;
use crate::thinking::{apply_soft_switch, ThinkingControl, ThinkingMode};
use crate::transport::{decode_json, Auth, Flow, SseDecoder, Transport};
use std::sync::Arc;

/// Adapter for OpenAI-compatible servers.
#[derive(Debug)]
pub struct OpenAiAdapter {
    transport: Transport,
    model: String,
    thinking: ThinkingMode,
    thinking_control: ThinkingControl,
    /// `None`: by the model of each request ([`LoneClose::for_model`]).
    lone_close: Option<LoneClose>,
    max_tokens: Option<u32>,
}

impl OpenAiAdapter {
    /// Builds the adapter; `credentials` resolves its key at each request.
    /// `config.thinking` is the effective default (environment applied).
    pub fn new(
        config: &ProviderConfig,
        credentials: Arc<dyn CredentialSource>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            transport: Transport::new(config, credentials, Auth::Bearer, HeaderMap::new())?,
            model: config.model.clone(),
            thinking: config.thinking,
            thinking_control: config.thinking_control,
            lone_close: config.lone_close,
            max_tokens: config.max_tokens,
        })
    }

    /// Checks every connection against `egress` first.
    pub fn with_egress(mut self, egress: Arc<dyn continuum_egress::EgressPolicy>) -> Self {
        self.transport.set_egress(egress);
        self
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.transport.base_url)
    }

    /// The request body and how the answer's stray `</think>` is read, both
    /// of which depend on the model the request ends up using.
    fn body(&self, request: GenerateRequest, stream: bool) -> (Value, LoneClose) {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        let mode = request.thinking.unwrap_or(self.thinking);
        let lone_close = self
            .lone_close
            .unwrap_or_else(|| LoneClose::for_model(&model));
        let body = build_body(
            request,
            &model,
            mode,
            self.thinking_control.for_model(&model),
            self.max_tokens,
            stream,
        );
        (body, lone_close)
    }

    async fn generate_whole(
        &self,
        request: GenerateRequest,
    ) -> Result<GenerateResponse, InferenceError> {
        let actor = request.on_behalf.clone();
        let (body, lone_close) = self.body(request, false);
        let response = self
            .transport
            .post(&self.url(), &body, false, actor.as_ref())
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport.body_error(e))?;
        parse_completion(&self.transport.provider, &bytes, lone_close)
    }

    async fn start_stream(&self, request: GenerateRequest) -> Result<EventStream, InferenceError> {
        let actor = request.on_behalf.clone();
        let (body, lone_close) = self.body(request, true);
        let response = self
            .transport
            .post(&self.url(), &body, true, actor.as_ref())
            .await?;
        Ok(self.transport.sse_stream(
            response,
            ChunkDecoder::new(&self.transport.provider, lone_close),
        ))
    }
}

impl InferenceAdapter for OpenAiAdapter {
    fn provider(&self) -> &str {
        &self.transport.provider
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
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

/// The request body. Pure, so what is sent for each thinking mode is pinned
/// by tests.
pub(crate) fn build_body(
    mut request: GenerateRequest,
    model: &str,
    mode: ThinkingMode,
    control: ThinkingControl,
    default_max_tokens: Option<u32>,
    stream: bool,
) -> Value {
    if control == ThinkingControl::SoftSwitch {
        apply_soft_switch(&mut request.messages, mode);
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "messages".into(),
        Value::Array(request.messages.iter().map(wire_message).collect()),
    );
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters,
                }})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(max) = request.max_tokens.or(default_max_tokens) {
        body.insert("max_tokens".into(), json!(max));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    if control == ThinkingControl::TemplateKwargs && mode != ThinkingMode::Default {
        body.insert(
            "chat_template_kwargs".into(),
            json!({"enable_thinking": mode == ThinkingMode::On}),
        );
    }
    if stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

fn wire_message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": m.content}),
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant if m.tool_calls.is_empty() => {
            json!({"role": "assistant", "content": m.content})
        }
        Role::Assistant => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    let arguments = match &c.arguments {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": arguments}})
                })
                .collect();
            let content = if m.content.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
    }
}

#[derive(Deserialize)]
struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A message or a delta: the same fields, all optional.
#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<Value>,
    #[serde(default)]
    reasoning: Option<Value>,
    #[serde(default)]
    thinking: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

impl WireMessage {
    /// The server reasoning field, whichever name this server uses.
    fn server_reasoning(&self) -> Option<&str> {
        [&self.reasoning_content, &self.reasoning, &self.thinking]
            .into_iter()
            .filter_map(|v| v.as_ref().and_then(Value::as_str))
            .find(|s| !s.is_empty())
    }
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    /// A JSON string per the spec; some servers send the object itself.
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens: Option<u32>,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or(0),
            completion_tokens: self.completion_tokens.unwrap_or(0),
        }
    }
}

fn provider_error(provider: &str, error: &Value) -> InferenceError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string());
    InferenceError::Provider {
        provider: provider.to_owned(),
        message,
    }
}

fn parse_arguments(raw: Option<Value>) -> Value {
    match raw {
        None => Value::Object(Map::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        Some(other) => other,
    }
}

fn finish_reason(raw: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match raw {
        Some("stop") | Some("eos") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
        None if has_tool_calls => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    }
}

/// Decodes a whole chat completion and separates its reasoning.
pub(crate) fn parse_completion(
    provider: &str,
    bytes: &[u8],
    lone_close: LoneClose,
) -> Result<GenerateResponse, InferenceError> {
    let wire: WireCompletion = decode_json(provider, bytes)?;
    if let Some(error) = &wire.error {
        return Err(provider_error(provider, error));
    }
    let choice = wire
        .choices
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| InferenceError::Decode {
            provider: provider.to_owned(),
            detail: "the response has no choices".into(),
        })?;
    let message = choice.message;
    let separated = separate_reasoning(
        message.content.as_deref().unwrap_or(""),
        message.server_reasoning(),
        lone_close,
    );
    let tool_calls: Vec<ToolCall> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let function = c.function.unwrap_or(WireFunction {
                name: None,
                arguments: None,
            });
            ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{i}")),
                name: function.name.unwrap_or_default(),
                arguments: parse_arguments(function.arguments),
            }
        })
        .collect();
    Ok(GenerateResponse {
        text: separated.text,
        reasoning: separated.reasoning,
        finish_reason: finish_reason(choice.finish_reason.as_deref(), !tool_calls.is_empty()),
        tool_calls,
        usage: wire.usage.unwrap_or_default().usage(),
        model: wire.model.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    delta: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Default)]
struct PartialToolCall {
    id: Option<String>,
    name: String,
    arguments: String,
    /// Arguments sent whole as an object (non-conforming servers).
    object: Option<Value>,
}

/// Streaming state for one chat completion.
pub(crate) struct ChunkDecoder {
    provider: String,
    lone_close: LoneClose,
    splitter: ReasoningSplitter,
    content: String,
    server_reasoning: String,
    tools: BTreeMap<usize, PartialToolCall>,
    usage: Usage,
    finish: Option<String>,
    model: String,
}

impl ChunkDecoder {
    pub(crate) fn new(provider: &str, lone_close: LoneClose) -> Self {
        Self {
            provider: provider.to_owned(),
            lone_close,
            splitter: ReasoningSplitter::new(lone_close),
            content: String::new(),
            server_reasoning: String::new(),
            tools: BTreeMap::new(),
            usage: Usage::default(),
            finish: None,
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

impl SseDecoder for ChunkDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Flow, InferenceError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(Flow::Finished);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let chunk: WireChunk = decode_json(&self.provider, data.as_bytes())?;
        if let Some(error) = &chunk.error {
            return Err(provider_error(&self.provider, error));
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = model;
        }
        if let Some(usage) = &chunk.usage {
            self.usage = usage.usage();
        }
        for choice in chunk.choices.into_iter().take(1) {
            let delta = choice.delta;
            if let Some(r) = delta.server_reasoning() {
                self.server_reasoning.push_str(r);
                to_events(self.splitter.push_server_reasoning(r), out);
            }
            if let Some(c) = delta.content.as_deref().filter(|c| !c.is_empty()) {
                self.content.push_str(c);
                to_events(self.splitter.push(c), out);
            }
            for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                let slot = self
                    .tools
                    .entry(call.index.unwrap_or(position))
                    .or_default();
                if let Some(id) = call.id.filter(|i| !i.is_empty()) {
                    slot.id = Some(id);
                }
                if let Some(function) = call.function {
                    if let Some(name) = function.name {
                        slot.name.push_str(&name);
                    }
                    match function.arguments {
                        Some(Value::String(s)) => slot.arguments.push_str(&s),
                        Some(Value::Null) | None => {}
                        Some(other) => slot.object = Some(other),
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
        }
        Ok(Flow::Continue)
    }

    fn complete_without_marker(&self) -> bool {
        self.finish.is_some()
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        to_events(self.splitter.finish(), out);
        let server = Some(self.server_reasoning.as_str()).filter(|s| !s.is_empty());
        let separated = separate_reasoning(&self.content, server, self.lone_close);
        let tool_calls: Vec<ToolCall> = std::mem::take(&mut self.tools)
            .into_iter()
            .map(|(i, c)| ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{i}")),
                name: c.name,
                arguments: c
                    .object
                    .unwrap_or_else(|| parse_arguments(Some(Value::String(c.arguments)))),
            })
            .collect();
        out.push(StreamEvent::Done(GenerateResponse {
            text: separated.text,
            reasoning: separated.reasoning,
            finish_reason: finish_reason(self.finish.as_deref(), !tool_calls.is_empty()),
            tool_calls,
            usage: self.usage,
            model: std::mem::take(&mut self.model),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ToolSpec;

    fn request() -> GenerateRequest {
        GenerateRequest::new(vec![Message::system("be brief"), Message::user("hi")])
    }

    #[test]
    fn suppress_with_soft_switch_appends_no_think_and_sends_no_kwargs() {
        let body = build_body(
            request(),
            "qwen3",
            ThinkingMode::Suppress,
            ThinkingControl::SoftSwitch,
            None,
            false,
        );
        assert_eq!(body["messages"][1]["content"], "hi /no_think");
        assert!(body.get("chat_template_kwargs").is_none());
    }

    #[test]
    fn template_kwargs_send_enable_thinking() {
        let body = build_body(
            request(),
            "m",
            ThinkingMode::Suppress,
            ThinkingControl::TemplateKwargs,
            None,
            false,
        );
        assert_eq!(
            body["chat_template_kwargs"],
            json!({"enable_thinking": false})
        );
        assert_eq!(body["messages"][1]["content"], "hi");
        let body = build_body(
            request(),
            "m",
            ThinkingMode::On,
            ThinkingControl::TemplateKwargs,
            None,
            false,
        );
        assert_eq!(
            body["chat_template_kwargs"],
            json!({"enable_thinking": true})
        );
    }

    #[test]
    fn default_mode_and_none_control_send_nothing() {
        for (mode, control) in [
            (ThinkingMode::Default, ThinkingControl::TemplateKwargs),
            (ThinkingMode::Default, ThinkingControl::SoftSwitch),
            (ThinkingMode::Suppress, ThinkingControl::None),
        ] {
            let body = build_body(request(), "m", mode, control, None, false);
            assert!(body.get("chat_template_kwargs").is_none());
            assert_eq!(body["messages"][1]["content"], "hi");
        }
    }

    #[test]
    fn streaming_asks_for_usage() {
        let body = build_body(
            request(),
            "m",
            ThinkingMode::Default,
            ThinkingControl::None,
            Some(64),
            true,
        );
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        assert_eq!(body["max_tokens"], 64);
    }

    #[test]
    fn tools_and_tool_turns_map_to_function_calling() {
        let mut req = request();
        req.tools.push(ToolSpec {
            name: "get_time".into(),
            description: "Current time".into(),
            parameters: json!({"type": "object", "properties": {}}),
        });
        let mut assistant = Message::assistant("");
        assistant.tool_calls.push(ToolCall {
            id: "call_1".into(),
            name: "get_time".into(),
            arguments: json!({"tz": "UTC"}),
        });
        req.messages.push(assistant);
        req.messages.push(Message::tool_result("call_1", "16:30"));
        let body = build_body(
            req,
            "m",
            ThinkingMode::Default,
            ThinkingControl::None,
            None,
            false,
        );
        assert_eq!(body["tools"][0]["function"]["name"], "get_time");
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"tz\":\"UTC\"}"
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "16:30"})
        );
    }

    #[test]
    fn missing_choices_is_a_decode_error() {
        let e = parse_completion("p", br#"{"model":"m"}"#, LoneClose::Reasoning).unwrap_err();
        assert!(matches!(e, InferenceError::Decode { .. }), "{e}");
    }

    #[test]
    fn error_object_in_a_200_body_is_a_provider_error() {
        let e = parse_completion(
            "p",
            br#"{"error":{"message":"model not loaded"}}"#,
            LoneClose::Reasoning,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "provider 'p' reported an error: model not loaded"
        );
    }
}
