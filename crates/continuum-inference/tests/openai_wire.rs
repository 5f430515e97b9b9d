//! The OpenAI-compatible adapter against scripted servers speaking the wire
//! formats of llama.cpp, vLLM, Ollama and OpenAI.

mod support;

use std::time::{Duration, Instant};

use continuum_inference::{
    FinishReason, FixedCredential, GenerateRequest, InferenceAdapter, InferenceError, Message,
    OpenAiAdapter, ProviderKind, ThinkingMode, ToolSpec, Usage,
};
use serde_json::{json, Value};
use support::{collect, config, data_events, Reply, ScriptedServer};

fn adapter(server: &ScriptedServer) -> OpenAiAdapter {
    OpenAiAdapter::new(
        &config(
            ProviderKind::OpenAi,
            &format!("{}/v1", server.base),
            "smollm2",
        ),
        FixedCredential::shared(None),
    )
    .unwrap()
}

fn hello() -> GenerateRequest {
    GenerateRequest::new(vec![
        Message::system("Be brief."),
        Message::user("Say hello."),
    ])
}

/// A chat completion whose message carries `message` fields.
fn completion(message: Value) -> Value {
    let mut m = json!({"role": "assistant"});
    m.as_object_mut()
        .unwrap()
        .extend(message.as_object().unwrap().clone());
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "smollm2",
        "choices": [{"index": 0, "message": m, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    })
}

/// Streaming chunks: one per delta, then a finish chunk, a usage chunk and
/// `[DONE]`.
fn chunks(deltas: &[Value]) -> Vec<String> {
    let mut values: Vec<Value> = deltas
        .iter()
        .map(|d| json!({"model": "smollm2", "choices": [{"index": 0, "delta": d, "finish_reason": null}]}))
        .collect();
    values.push(json!({"model": "smollm2", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    values.push(json!({"model": "smollm2", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5}}));
    let mut events = data_events(&values);
    events.push("data: [DONE]\n\n".into());
    events
}

async fn whole(message: Value) -> (continuum_inference::GenerateResponse, ScriptedServer) {
    let server = ScriptedServer::start(vec![Reply::json(200, completion(message))]).await;
    let response = adapter(&server).generate(hello()).await.unwrap();
    (response, server)
}

async fn streamed(deltas: &[Value]) -> support::Collected {
    let server = ScriptedServer::start(vec![Reply::sse(&chunks(deltas))]).await;
    let stream = adapter(&server).generate_stream(hello()).await.unwrap();
    let collected = collect(stream).await;
    collected.assert_deltas_match_done();
    let request = &server.requests()[0];
    assert_eq!(request.body["stream"], true);
    assert_eq!(request.body["stream_options"]["include_usage"], true);
    collected
}

#[tokio::test]
async fn plain_completion_is_text_with_usage_and_model() {
    let (r, server) = whole(json!({"content": "Hello!"})).await;
    assert_eq!(r.text, "Hello!");
    assert_eq!(r.reasoning, None);
    assert_eq!(r.finish_reason, FinishReason::Stop);
    assert_eq!(
        r.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        }
    );
    assert_eq!(r.model, "smollm2");
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.body["model"], "smollm2");
    assert_eq!(
        request.body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert!(request.header("authorization").is_none());
}

#[tokio::test]
async fn llama_cpp_reasoning_content_field_is_the_reasoning() {
    let (r, _s) = whole(json!({"content": "144", "reasoning_content": "12 times 12"})).await;
    assert_eq!(
        (r.text.as_str(), r.reasoning.as_deref()),
        ("144", Some("12 times 12"))
    );
}

#[tokio::test]
async fn vllm_reasoning_field_is_the_reasoning() {
    let (r, _s) = whole(json!({"content": "\n\nBlue.", "reasoning": "sky colour"})).await;
    assert_eq!(
        (r.text.as_str(), r.reasoning.as_deref()),
        ("Blue.", Some("sky colour"))
    );
}

#[tokio::test]
async fn ollama_thinking_field_is_the_reasoning() {
    let (r, _s) = whole(json!({"content": "4:30pm", "thinking": "add two hours"})).await;
    assert_eq!(
        (r.text.as_str(), r.reasoning.as_deref()),
        ("4:30pm", Some("add two hours"))
    );
}

#[tokio::test]
async fn inline_think_block_is_split_out_of_content() {
    let (r, _s) =
        whole(json!({"content": "<think>\nthe user greets me\n</think>\n\nHello!"})).await;
    assert_eq!(
        (r.text.as_str(), r.reasoning.as_deref()),
        ("Hello!", Some("the user greets me"))
    );
}

#[tokio::test]
async fn unclosed_think_block_yields_empty_text() {
    let (r, _s) = whole(json!({"content": "<think>I keep thinking and thinking"})).await;
    assert_eq!(r.text, "");
    assert_eq!(r.reasoning.as_deref(), Some("I keep thinking and thinking"));
}

#[tokio::test]
async fn streamed_plain_answer() {
    let c = streamed(&[
        json!({"role": "assistant", "content": ""}),
        json!({"content": "Hel"}),
        json!({"content": "lo!"}),
    ])
    .await;
    let done = c.done();
    assert_eq!(done.text, "Hello!");
    assert_eq!(
        done.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        }
    );
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert_eq!(done.model, "smollm2");
}

#[tokio::test]
async fn plain_answer_streams_in_pieces_by_default() {
    let c = streamed(&[json!({"content": "Hel"}), json!({"content": "lo!"})]).await;
    assert_eq!(c.events, 3, "two live text deltas, then Done");
    assert_eq!(c.text, "Hello!");
}

#[tokio::test]
async fn template_opened_reasoning_is_split_from_the_whole_response_by_default() {
    let (r, _s) = whole(json!({"content": "the user greets me\n</think>\n\nHello!"})).await;
    assert_eq!(
        (r.text.as_str(), r.reasoning.as_deref()),
        ("Hello!", Some("the user greets me"))
    );
}

#[tokio::test]
async fn known_template_opening_model_holds_streamed_text_until_the_first_tag() {
    let server = ScriptedServer::start(vec![Reply::sse(&chunks(&[
        json!({"content": "the user "}),
        json!({"content": "greets me</think>"}),
        json!({"content": "Hello!"}),
    ]))])
    .await;
    let adapter = OpenAiAdapter::new(
        &config(
            ProviderKind::OpenAi,
            &format!("{}/v1", server.base),
            "deepseek-r1:8b",
        ),
        FixedCredential::shared(None),
    )
    .unwrap();
    let c = collect(adapter.generate_stream(hello()).await.unwrap()).await;
    c.assert_deltas_match_done();
    assert_eq!(c.text, "Hello!");
    assert_eq!(c.reasoning, "the user greets me");
}

#[tokio::test]
async fn streamed_reasoning_content_deltas() {
    let c = streamed(&[
        json!({"reasoning_content": "12 times "}),
        json!({"reasoning_content": "12", "content": null}),
        json!({"content": "144"}),
    ])
    .await;
    assert_eq!(c.done().text, "144");
    assert_eq!(c.done().reasoning.as_deref(), Some("12 times 12"));
}

#[tokio::test]
async fn streamed_vllm_reasoning_deltas() {
    let c = streamed(&[
        json!({"reasoning": "sky"}),
        json!({"reasoning": " colour"}),
        json!({"content": "Blue."}),
    ])
    .await;
    assert_eq!(c.done().reasoning.as_deref(), Some("sky colour"));
    assert_eq!(c.done().text, "Blue.");
}

#[tokio::test]
async fn streamed_ollama_thinking_deltas() {
    let c = streamed(&[json!({"thinking": "add two"}), json!({"content": "4:30pm"})]).await;
    assert_eq!(c.done().reasoning.as_deref(), Some("add two"));
    assert_eq!(c.done().text, "4:30pm");
}

#[tokio::test]
async fn streamed_inline_think_with_tags_split_across_chunks() {
    let c = streamed(&[
        json!({"content": "<th"}),
        json!({"content": "ink>the user "}),
        json!({"content": "greets me</thi"}),
        json!({"content": "nk>\n\nHel"}),
        json!({"content": "lo!"}),
    ])
    .await;
    assert_eq!(c.done().text, "Hello!");
    assert_eq!(c.done().reasoning.as_deref(), Some("the user greets me"));
    assert_eq!(c.text, "Hello!");
}

#[tokio::test]
async fn streamed_done_equals_the_whole_response_for_the_same_output() {
    let content = "<think>plan</think>Answer: 42";
    let (whole_response, _s) = whole(json!({"content": content})).await;
    let c = streamed(&[
        json!({"content": &content[..9]}),
        json!({"content": &content[9..]}),
    ])
    .await;
    assert_eq!(c.done(), &whole_response);
}

fn tool_request() -> GenerateRequest {
    let mut req = hello();
    req.tools.push(ToolSpec {
        name: "get_time".into(),
        description: "Current time in a zone".into(),
        parameters: json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
    });
    req
}

#[tokio::test]
async fn tool_calls_are_decoded_with_parsed_arguments() {
    let body = json!({
        "model": "smollm2",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_9", "type": "function",
                            "function": {"name": "get_time", "arguments": "{\"tz\":\"UTC\"}"}}]
        }}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 9}
    });
    let server = ScriptedServer::start(vec![Reply::json(200, body)]).await;
    let r = adapter(&server).generate(tool_request()).await.unwrap();
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "call_9");
    assert_eq!(r.tool_calls[0].name, "get_time");
    assert_eq!(r.tool_calls[0].arguments, json!({"tz": "UTC"}));
    assert_eq!(server.requests()[0].body["tools"][0]["type"], "function");
}

#[tokio::test]
async fn streamed_tool_call_arguments_are_assembled() {
    let deltas = [
        json!({"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"tz\":"}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"UTC\"}"}}]}),
    ];
    let mut values: Vec<Value> = deltas
        .iter()
        .map(|d| json!({"choices": [{"index": 0, "delta": d, "finish_reason": null}]}))
        .collect();
    values.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}));
    let mut events = data_events(&values);
    events.push("data: [DONE]\n\n".into());
    let server = ScriptedServer::start(vec![Reply::sse(&events)]).await;
    let c = collect(
        adapter(&server)
            .generate_stream(tool_request())
            .await
            .unwrap(),
    )
    .await;
    let done = c.done();
    assert_eq!(done.finish_reason, FinishReason::ToolCalls);
    assert_eq!(done.tool_calls[0].name, "get_time");
    assert_eq!(done.tool_calls[0].arguments, json!({"tz": "UTC"}));
}

#[tokio::test]
async fn rate_limit_with_retry_after_waits_then_retries() {
    let server = ScriptedServer::start(vec![
        Reply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "1"),
        Reply::json(200, completion(json!({"content": "ok"}))),
    ])
    .await;
    let started = Instant::now();
    let r = adapter(&server).generate(hello()).await.unwrap();
    assert_eq!(r.text, "ok");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(950));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn retry_after_longer_than_max_delay_fails_at_once() {
    let server = ScriptedServer::start(vec![Reply::json(
        429,
        json!({"error": {"message": "quota"}}),
    )
    .header("retry-after", "3600")])
    .await;
    let e = adapter(&server).generate(hello()).await.unwrap_err();
    match &e {
        InferenceError::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert_eq!(*attempts, 1);
        }
        other => panic!("expected RateLimited, got {other}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = ScriptedServer::start(vec![
        Reply::raw(500, "internal error"),
        Reply::json(200, completion(json!({"content": "recovered"}))),
    ])
    .await;
    let r = adapter(&server).generate(hello()).await.unwrap();
    assert_eq!(r.text, "recovered");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_the_bounded_attempts() {
    let server = ScriptedServer::start(vec![
        Reply::raw(503, "busy"),
        Reply::raw(503, "busy"),
        Reply::raw(503, "busy"),
        Reply::raw(200, "{}"),
    ])
    .await;
    let e = adapter(&server).generate(hello()).await.unwrap_err();
    assert!(matches!(e, InferenceError::Http { status: 503, .. }), "{e}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn stream_is_retried_before_its_body_starts() {
    let server = ScriptedServer::start(vec![
        Reply::raw(503, "loading model"),
        Reply::sse(&chunks(&[json!({"content": "up"})])),
    ])
    .await;
    let c = collect(adapter(&server).generate_stream(hello()).await.unwrap()).await;
    assert_eq!(c.done().text, "up");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn connection_closed_mid_stream_is_stream_dropped() {
    let mut pieces = chunks(&[json!({"content": "Hel"}), json!({"content": "lo"})]);
    pieces.truncate(2);
    pieces.push("data: {\"choices\":[{\"delta\":{\"content\":\"cut".into());
    let server = ScriptedServer::start(vec![Reply::SseDropped(pieces)]).await;
    let c = collect(adapter(&server).generate_stream(hello()).await.unwrap()).await;
    assert!(c.done.is_none());
    let e = c.error.expect("an error");
    assert!(matches!(e, InferenceError::StreamDropped { .. }), "{e}");
    assert!(e
        .to_string()
        .starts_with("provider 'scripted' stream ended before the answer was complete"));
}

#[tokio::test]
async fn clean_close_without_done_marker_or_finish_is_stream_dropped() {
    let pieces = data_events(&[json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]})]);
    let server = ScriptedServer::start(vec![Reply::sse(&pieces)]).await;
    let c = collect(adapter(&server).generate_stream(hello()).await.unwrap()).await;
    assert!(
        matches!(c.error, Some(InferenceError::StreamDropped { .. })),
        "{:?}",
        c.error
    );
}

#[tokio::test]
async fn error_payload_inside_a_stream_is_a_provider_error() {
    let pieces = data_events(&[json!({"error": {"message": "context length exceeded"}})]);
    let server = ScriptedServer::start(vec![Reply::sse(&pieces)]).await;
    let c = collect(adapter(&server).generate_stream(hello()).await.unwrap()).await;
    let e = c.error.expect("an error");
    assert_eq!(
        e.to_string(),
        "provider 'scripted' reported an error: context length exceeded"
    );
}

#[tokio::test]
async fn malformed_json_is_a_typed_decode_error() {
    let server = ScriptedServer::start(vec![Reply::raw(200, "{\"choices\": [oops")]).await;
    let e = adapter(&server).generate(hello()).await.unwrap_err();
    assert!(matches!(e, InferenceError::Decode { .. }), "{e}");
    assert!(e.to_string().contains("could not be decoded"));
}

#[tokio::test]
async fn malformed_json_in_a_stream_is_a_typed_decode_error() {
    let server = ScriptedServer::start(vec![Reply::sse(&["data: {not json}\n\n"])]).await;
    let c = collect(adapter(&server).generate_stream(hello()).await.unwrap()).await;
    assert!(
        matches!(c.error, Some(InferenceError::Decode { .. })),
        "{:?}",
        c.error
    );
}

#[tokio::test]
async fn unauthorized_names_the_credential_and_never_the_key() {
    let key = "sk-or-v1-secret-value";
    let server = ScriptedServer::start(vec![Reply::json(
        401,
        json!({"error": {"message": format!("Incorrect API key provided: {key}")}}),
    )])
    .await;
    let mut cfg = config(ProviderKind::OpenAi, &format!("{}/v1", server.base), "m");
    cfg.credential = Some("OPENROUTER_API_KEY".into());
    let adapter = OpenAiAdapter::new(&cfg, FixedCredential::shared(Some(key))).unwrap();
    let e = adapter.generate(hello()).await.unwrap_err();
    let shown = format!("{e} {e:?} {adapter:?}");
    assert!(matches!(e, InferenceError::Http { status: 401, .. }), "{e}");
    assert!(
        shown.contains("check the credential 'OPENROUTER_API_KEY'"),
        "{shown}"
    );
    assert!(!shown.contains(key), "{shown}");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[tokio::test]
async fn refused_connection_says_is_the_server_running() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let adapter = OpenAiAdapter::new(
        &config(ProviderKind::OpenAi, &base, "m"),
        FixedCredential::shared(None),
    )
    .unwrap();
    let e = adapter.generate(hello()).await.unwrap_err();
    assert!(matches!(e, InferenceError::Connect { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "provider 'scripted' ({base}) refused the connection: is the server running?"
        )),
        "{e}"
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = ScriptedServer::start(vec![Reply::Hang]).await;
    let mut cfg = config(ProviderKind::OpenAi, &format!("{}/v1", server.base), "m");
    cfg.timeout = Duration::from_millis(300);
    let e = OpenAiAdapter::new(&cfg, FixedCredential::shared(None))
        .unwrap()
        .generate(hello())
        .await
        .unwrap_err();
    assert!(matches!(e, InferenceError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("raise timeout_secs"));
}

#[tokio::test]
async fn suppress_for_qwen3_appends_no_think_and_request_override_wins() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            200,
            completion(json!({"content": "<think>\n\n</think>\n\n144"})),
        ),
        Reply::json(200, completion(json!({"content": "144"}))),
    ])
    .await;
    let mut cfg = config(
        ProviderKind::OpenAi,
        &format!("{}/v1", server.base),
        "unsloth/Qwen3-4B",
    );
    cfg.thinking = ThinkingMode::Suppress;
    let adapter = OpenAiAdapter::new(&cfg, FixedCredential::shared(None)).unwrap();
    let r = adapter.generate(hello()).await.unwrap();
    assert_eq!((r.text.as_str(), r.reasoning.as_deref()), ("144", None));
    let mut on = hello();
    on.thinking = Some(ThinkingMode::On);
    adapter.generate(on).await.unwrap();
    let requests = server.requests();
    assert_eq!(
        requests[0].body["messages"][1]["content"],
        "Say hello. /no_think"
    );
    assert_eq!(
        requests[1].body["messages"][1]["content"],
        "Say hello. /think"
    );
}
