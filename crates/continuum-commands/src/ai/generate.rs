//! `ai/generate`: one generation from a configured provider, whole or
//! streamed as `$/stream` notifications (`{"text": ...}` and
//! `{"reasoning": ...}` per delta) before the same final result.

use super::{inference_error, Providers};
use continuum_inference::{
    FinishReason, GenerateRequest, GenerateResponse, Message, Role, StreamEvent, ThinkingMode,
    ToolCall, ToolSpec, Usage,
};
use continuum_kernel::command::{Command, CommandError, Ctx, Limits};
use continuum_wire::Access;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Generates a response with a configured provider.
pub(super) struct AiGenerate(pub(super) Arc<Providers>);

/// Params of `ai/generate`. Exactly one of `prompt` and `messages`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GenerateParams {
    /// Provider name from providers.toml; the default provider when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model; the provider's configured model when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A single user message (use this or `messages`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The conversation so far (use this or `prompt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Thinking mode for this request; the provider's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<ThinkingMode>,
    /// Upper bound on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Tools the model may call (name, description, JSON Schema parameters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Stream deltas as `$/stream` notifications ({"text"} / {"reasoning"})
    /// before the result. cu prints text live; reasoning only dimmed on a
    /// terminal's stderr.
    #[serde(default)]
    pub stream: bool,
}

/// Result of `ai/generate`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateOutput {
    /// The answer, with all reasoning removed. Empty when the model never
    /// finished reasoning: do not post an empty answer.
    pub text: String,
    /// The model's reasoning, when it produced any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Tools the model asked to call.
    pub tool_calls: Vec<ToolCall>,
    /// Token counts as the provider reported them (zero when it reported none).
    pub usage: Usage,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// The model that answered, as the provider named it.
    pub model: String,
    /// The provider that answered.
    pub provider: String,
}

impl GenerateOutput {
    fn new(response: GenerateResponse, provider: &str) -> Self {
        GenerateOutput {
            text: response.text,
            reasoning: response.reasoning,
            tool_calls: response.tool_calls,
            usage: response.usage,
            finish_reason: response.finish_reason,
            model: response.model,
            provider: provider.to_owned(),
        }
    }
}

impl GenerateParams {
    /// Checks what the schema cannot say and builds the provider-neutral
    /// request. Errors name the field at fault.
    fn into_request(self) -> Result<GenerateRequest, CommandError> {
        let messages = match (self.prompt, self.messages) {
            (Some(_), Some(_)) => {
                return Err(CommandError::invalid_params(
                    "/messages",
                    "give either prompt or messages, not both",
                ))
            }
            (None, None) => {
                return Err(CommandError::invalid_params(
                    "/prompt",
                    "missing: give prompt (one user message) or messages (a conversation)",
                ))
            }
            (Some(prompt), None) if prompt.trim().is_empty() => {
                return Err(CommandError::invalid_params("/prompt", "must not be empty"))
            }
            (Some(prompt), None) => vec![Message::user(prompt)],
            (None, Some(messages)) => {
                check_messages(&messages)?;
                messages
            }
        };
        if self.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(CommandError::invalid_params(
                "/model",
                "must not be empty (leave it out to use the provider's model)",
            ));
        }
        if let Some(i) = self.stop.iter().position(String::is_empty) {
            return Err(CommandError::invalid_params(
                format!("/stop/{i}"),
                "a stop sequence must not be empty",
            ));
        }
        for (i, tool) in self.tools.iter().enumerate() {
            check_tool(i, tool)?;
        }
        Ok(GenerateRequest {
            model: self.model,
            messages,
            tools: self.tools,
            thinking: self.think,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            stop: self.stop,
            on_behalf: None,
        })
    }
}

fn check_messages(messages: &[Message]) -> Result<(), CommandError> {
    if messages.is_empty() {
        return Err(CommandError::invalid_params(
            "/messages",
            "must hold at least one message",
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        if m.role == Role::Tool && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
            return Err(CommandError::invalid_params(
                format!("/messages/{i}/toolCallId"),
                "a tool message must name the call it answers",
            ));
        }
        if m.role != Role::Assistant && !m.tool_calls.is_empty() {
            return Err(CommandError::invalid_params(
                format!("/messages/{i}/toolCalls"),
                "only assistant messages carry tool calls",
            ));
        }
    }
    Ok(())
}

/// Tool names as the OpenAI and Anthropic APIs accept them.
fn check_tool(i: usize, tool: &ToolSpec) -> Result<(), CommandError> {
    let name_ok = (1..=64).contains(&tool.name.len())
        && tool
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(CommandError::invalid_params(
            format!("/tools/{i}/name"),
            "must be 1-64 characters of letters, digits, '_' or '-'",
        ));
    }
    if !tool.parameters.is_object() {
        return Err(CommandError::invalid_params(
            format!("/tools/{i}/parameters"),
            "must be a JSON Schema object, e.g. {\"type\": \"object\", \"properties\": {}}",
        ));
    }
    Ok(())
}

impl Command for AiGenerate {
    const NAME: &'static str = "ai/generate";
    const DESCRIPTION: &'static str =
        "Generate a response with a configured model provider (--stream to stream it).";
    const ACCESS: Access = Access::AiSafe;
    /// The adapter's own connect/read timeouts and bounded retries end a
    /// stuck upstream call first; the timeout only bounds a long generation.
    /// At most 4 generations at once (each spends the provider's money or a
    /// local model's CPU); a fifth waits up to 30 s for a slot, then gets
    /// `overloaded`. `config.toml` `[limits."ai/generate"]` changes both.
    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(600),
        max_concurrency: Some(4),
        max_wait: Duration::from_secs(30),
    };
    const STREAMING: bool = true;
    type Params = GenerateParams;
    type Output = GenerateOutput;

    async fn run(&self, ctx: Ctx, params: GenerateParams) -> Result<GenerateOutput, CommandError> {
        let stream = params.stream;
        let requested = params.provider.clone();
        let mut request = params.into_request()?;
        // The provider's key is released for this caller (its wallet), for
        // this request.
        request.on_behalf = Some(crate::vault::credential_actor(&ctx));
        let adapter = self.0.adapter(requested.as_deref())?;
        let provider = adapter.provider().to_owned();
        // Nobody to stream to (a notification without an id): answer whole.
        if !(stream && ctx.can_stream()) {
            let response = adapter.generate(request).await.map_err(inference_error)?;
            return Ok(GenerateOutput::new(response, &provider));
        }
        let mut events = adapter
            .generate_stream(request)
            .await
            .map_err(inference_error)?;
        while let Some(event) = events.next().await {
            let delivered = match event.map_err(inference_error)? {
                StreamEvent::TextDelta(text) => ctx.emit(json!({ "text": text })).await,
                StreamEvent::ReasoningDelta(reasoning) => {
                    ctx.emit(json!({ "reasoning": reasoning })).await
                }
                StreamEvent::Done(response) => return Ok(GenerateOutput::new(response, &provider)),
            };
            if !delivered {
                // Dropping the stream closes the upstream request: no tokens
                // are generated for a client that has gone.
                return Err(CommandError::Unavailable(
                    "the client stopped listening; generation cancelled".into(),
                ));
            }
        }
        Err(CommandError::Upstream {
            message: format!("provider '{provider}' stream ended without a final response"),
            detail: Some(json!({"kind": "stream_dropped", "provider": provider})),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_kernel::command::{Module, RegistryBuilder};
    use serde_json::Value;

    #[test]
    fn generation_is_bounded_by_default_so_one_caller_cannot_fan_out() {
        let module = super::super::AiModule::new(
            continuum_inference::ProviderRegistry::default(),
            "$CONTINUUM_HOME/providers.toml",
        );
        let registry = RegistryBuilder::new()
            .module(&module as &dyn Module)
            .build()
            .unwrap();
        let limits = registry.get("ai/generate").unwrap().limits();
        assert_eq!(limits.max_concurrency, Some(4));
        assert_eq!(limits.max_wait, Duration::from_secs(30));
    }

    fn field(params: GenerateParams) -> (String, String) {
        match params.into_request() {
            Err(CommandError::InvalidParams { field, reason }) => (field, reason),
            other => panic!("expected invalid params, got {other:?}"),
        }
    }

    fn prompt(text: &str) -> GenerateParams {
        GenerateParams {
            prompt: Some(text.into()),
            ..GenerateParams::default()
        }
    }

    #[test]
    fn prompt_becomes_one_user_message_and_options_carry_over() {
        let request = GenerateParams {
            model: Some("smollm2".into()),
            think: Some(ThinkingMode::Suppress),
            max_tokens: Some(16),
            temperature: Some(0.0),
            stop: vec!["\n\n".into()],
            ..prompt("Say hi")
        }
        .into_request()
        .unwrap();
        assert_eq!(request.messages, vec![Message::user("Say hi")]);
        assert_eq!(request.model.as_deref(), Some("smollm2"));
        assert_eq!(request.thinking, Some(ThinkingMode::Suppress));
        assert_eq!(request.max_tokens, Some(16));
        assert_eq!(request.temperature, Some(0.0));
        assert_eq!(request.stop, ["\n\n"]);
    }

    #[test]
    fn neither_prompt_nor_messages_names_prompt() {
        let (field, reason) = field(GenerateParams::default());
        assert_eq!(field, "/prompt");
        assert!(reason.contains("messages"), "{reason}");
    }

    #[test]
    fn both_prompt_and_messages_names_messages() {
        let (field, reason) = field(GenerateParams {
            messages: Some(vec![Message::user("hi")]),
            ..prompt("hi")
        });
        assert_eq!(field, "/messages");
        assert!(reason.contains("not both"), "{reason}");
    }

    #[test]
    fn blank_prompt_is_refused() {
        assert_eq!(field(prompt("  \n")).0, "/prompt");
    }

    #[test]
    fn empty_messages_are_refused() {
        let (field, _) = field(GenerateParams {
            messages: Some(vec![]),
            ..GenerateParams::default()
        });
        assert_eq!(field, "/messages");
    }

    #[test]
    fn a_tool_message_must_name_its_call() {
        let mut tool = Message::tool_result("call_1", "16:30");
        tool.tool_call_id = None;
        let (field, _) = field(GenerateParams {
            messages: Some(vec![Message::user("time?"), tool]),
            ..GenerateParams::default()
        });
        assert_eq!(field, "/messages/1/toolCallId");
    }

    #[test]
    fn empty_model_and_empty_stop_sequences_are_refused() {
        assert_eq!(
            field(GenerateParams {
                model: Some(String::new()),
                ..prompt("hi")
            })
            .0,
            "/model"
        );
        assert_eq!(
            field(GenerateParams {
                stop: vec!["END".into(), String::new()],
                ..prompt("hi")
            })
            .0,
            "/stop/1"
        );
    }

    #[test]
    fn tools_need_a_valid_name_and_an_object_schema() {
        let tool = |name: &str, parameters: Value| ToolSpec {
            name: name.into(),
            description: String::new(),
            parameters,
        };
        let (f, _) = field(GenerateParams {
            tools: vec![tool("get time", json!({"type": "object"}))],
            ..prompt("hi")
        });
        assert_eq!(f, "/tools/0/name");
        let (f, _) = field(GenerateParams {
            tools: vec![
                tool("get_time", json!({"type": "object"})),
                tool("lookup", json!("any")),
            ],
            ..prompt("hi")
        });
        assert_eq!(f, "/tools/1/parameters");
    }

    /// The schema half of validation, through the registry's own validator.
    fn schema_error(params: Value) -> String {
        let module = super::super::AiModule::new(
            continuum_inference::ProviderRegistry::default(),
            "/h/providers.toml",
        );
        let registry = RegistryBuilder::new()
            .module(&module as &dyn Module)
            .build()
            .unwrap();
        match registry.get("ai/generate").unwrap().validate(&params) {
            Err(CommandError::InvalidParams { field, .. }) => field,
            other => panic!("expected invalid params for {params}, got {other:?}"),
        }
    }

    #[test]
    fn schema_refuses_out_of_range_numbers_unknown_fields_and_modes() {
        assert_eq!(
            schema_error(json!({"prompt": "hi", "maxTokens": 0})),
            "/maxTokens"
        );
        assert_eq!(
            schema_error(json!({"prompt": "hi", "temperature": 3.5})),
            "/temperature"
        );
        assert_eq!(
            schema_error(json!({"prompt": "hi", "think": "loud"})),
            "/think"
        );
        assert_eq!(
            schema_error(json!({"prompt": "hi", "max_tokens": 4})),
            "/max_tokens"
        );
        assert_eq!(
            schema_error(json!({"messages": [{"role": "robot", "content": "x"}]})),
            "/messages/0/role"
        );
    }
}
