//! The Anthropic Messages adapter against a scripted server speaking its
//! documented wire format.

mod support;

use continuum_inference::{
    AnthropicAdapter, FinishReason, FixedCredential, GenerateRequest, InferenceAdapter,
    InferenceError, Message, ProviderKind, ThinkingMode, ToolSpec, Usage,
};
use serde_json::{json, Value};
use support::{collect, config, typed_events, Reply, ScriptedServer};

const KEY: &str = "sk-ant-test-key";

fn adapter(server: &ScriptedServer) -> AnthropicAdapter {
    let mut cfg = config(ProviderKind::Anthropic, &server.base, "claude-sonnet-4-5");
    cfg.credential = Some("ANTHROPIC_API_KEY".into());
    cfg.thinking = ThinkingMode::On;
    AnthropicAdapter::new(&cfg, FixedCredential::shared(Some(KEY))).unwrap()
}

fn request() -> GenerateRequest {
    let mut req = GenerateRequest::new(vec![
        Message::system("You are Asha."),
        Message::user("What is 12*12?"),
    ]);
    req.tools.push(ToolSpec {
        name: "calc".into(),
        description: "Evaluates arithmetic".into(),
        parameters: json!({"type": "object", "properties": {"expr": {"type": "string"}}}),
    });
    req
}

fn message(content: Value, stop_reason: &str) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": stop_reason, "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 11}
    })
}

#[tokio::test]
async fn thinking_blocks_are_reasoning_and_text_blocks_the_answer() {
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        message(
            json!([
                {"type": "thinking", "thinking": "12 times 12 is 144", "signature": "sig"},
                {"type": "text", "text": "144"}
            ]),
            "end_turn",
        ),
    )])
    .await;
    let r = adapter(&server).generate(request()).await.unwrap();
    assert_eq!(r.text, "144");
    assert_eq!(r.reasoning.as_deref(), Some("12 times 12 is 144"));
    assert_eq!(r.finish_reason, FinishReason::Stop);
    assert_eq!(
        r.usage,
        Usage {
            prompt_tokens: 20,
            completion_tokens: 11
        }
    );
    assert_eq!(r.model, "claude-sonnet-4-5");

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.body["system"], "You are Asha.");
    assert_eq!(sent.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        sent.body["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert_eq!(sent.body["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn tool_use_blocks_are_tool_calls() {
    let server = ScriptedServer::start(vec![Reply::json(
        200,
        message(
            json!([
                {"type": "text", "text": "Let me compute."},
                {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {"expr": "12*12"}}
            ]),
            "tool_use",
        ),
    )])
    .await;
    let r = adapter(&server).generate(request()).await.unwrap();
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "toolu_1");
    assert_eq!(r.tool_calls[0].arguments, json!({"expr": "12*12"}));
    assert_eq!(r.text, "Let me compute.");
}

fn stream_events(blocks: Vec<Value>, stop_reason: &str) -> Vec<String> {
    let mut values = vec![json!({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "stop_reason": null, "usage": {"input_tokens": 20, "output_tokens": 1}}})];
    values.push(json!({"type": "ping"}));
    values.extend(blocks);
    values.push(json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": 11}}));
    values.push(json!({"type": "message_stop"}));
    typed_events(&values)
}

fn thinking_then_text() -> Vec<Value> {
    vec![
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "12 times 12"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": " is 144"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "14"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "4"}}),
        json!({"type": "content_block_stop", "index": 1}),
    ]
}

#[tokio::test]
async fn streamed_thinking_deltas_are_reasoning_deltas() {
    let server = ScriptedServer::start(vec![Reply::sse(&stream_events(
        thinking_then_text(),
        "end_turn",
    ))])
    .await;
    let c = collect(adapter(&server).generate_stream(request()).await.unwrap()).await;
    c.assert_deltas_match_done();
    let done = c.done();
    assert_eq!(done.text, "144");
    assert_eq!(done.reasoning.as_deref(), Some("12 times 12 is 144"));
    assert_eq!(
        done.usage,
        Usage {
            prompt_tokens: 20,
            completion_tokens: 11
        }
    );
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert_eq!(server.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn streamed_done_equals_the_whole_response() {
    let server = ScriptedServer::start(vec![
        Reply::sse(&stream_events(thinking_then_text(), "end_turn")),
        Reply::json(
            200,
            message(
                json!([{"type": "thinking", "thinking": "12 times 12 is 144", "signature": "s"}, {"type": "text", "text": "144"}]),
                "end_turn",
            ),
        ),
    ])
    .await;
    let adapter = adapter(&server);
    let c = collect(adapter.generate_stream(request()).await.unwrap()).await;
    let whole = adapter.generate(request()).await.unwrap();
    assert_eq!(c.done(), &whole);
}

#[tokio::test]
async fn streamed_tool_use_input_is_assembled_from_json_deltas() {
    let blocks = vec![
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"expr\": "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"12*12\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
    ];
    let server = ScriptedServer::start(vec![Reply::sse(&stream_events(blocks, "tool_use"))]).await;
    let c = collect(adapter(&server).generate_stream(request()).await.unwrap()).await;
    let done = c.done();
    assert_eq!(done.finish_reason, FinishReason::ToolCalls);
    assert_eq!(done.tool_calls[0].name, "calc");
    assert_eq!(done.tool_calls[0].arguments, json!({"expr": "12*12"}));
}

#[tokio::test]
async fn error_event_in_a_stream_is_a_provider_error() {
    let mut events = stream_events(vec![], "end_turn");
    events.truncate(2);
    events.extend(typed_events(&[
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]));
    let server = ScriptedServer::start(vec![Reply::sse(&events)]).await;
    let c = collect(adapter(&server).generate_stream(request()).await.unwrap()).await;
    let e = c.error.expect("an error");
    assert_eq!(
        e.to_string(),
        "provider 'scripted' reported an error: overloaded_error: Overloaded"
    );
}

#[tokio::test]
async fn stream_without_message_stop_is_stream_dropped() {
    let mut events = stream_events(thinking_then_text(), "end_turn");
    events.truncate(6);
    let server = ScriptedServer::start(vec![Reply::SseDropped(events)]).await;
    let c = collect(adapter(&server).generate_stream(request()).await.unwrap()).await;
    assert!(
        matches!(c.error, Some(InferenceError::StreamDropped { .. })),
        "{:?}",
        c.error
    );
}

#[tokio::test]
async fn overloaded_529_then_success_is_retried() {
    let server = ScriptedServer::start(vec![
        Reply::json(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        Reply::json(200, message(json!([{"type": "text", "text": "fine"}]), "end_turn")),
    ])
    .await;
    let r = adapter(&server).generate(request()).await.unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn unauthorized_says_which_credential_to_check() {
    let server = ScriptedServer::start(vec![Reply::json(
        401,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    )])
    .await;
    let e = adapter(&server).generate(request()).await.unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("provider 'scripted' answered HTTP 401: the key was rejected: check the credential 'ANTHROPIC_API_KEY'"), "{text}");
    assert!(!text.contains(KEY));
}
