//! Inference end to end: the real `cu` and daemon against a real
//! OpenAI-compatible server running a real small model
//! (`scripts/ci/llm-server.sh`: llama-cpp-python + SmolLM2-135M), reached
//! through `CONTINUUM_TEST_LLM_URL`. A small model's answers are poor, so the
//! tests assert the shape (non-empty, no think tags, usage counted), not the
//! content. Every request uses temperature 0: with the server's
//! `--n_batch 1` the answer is then the same whatever was asked before, so a
//! sampled early end of sequence cannot make a test flaky.
//!
//! Without `CONTINUUM_TEST_LLM_URL` the real-model tests skip with a note, and
//! fail when `CI` is set so CI cannot skip them silently. Locally:
//! `bash scripts/ci/setup-llm.sh && bash scripts/ci/llm-server.sh start 18080`,
//! then `CONTINUUM_TEST_LLM_URL=http://127.0.0.1:18080/v1 cargo test -p continuum-e2e --test ai`.
//! The error-path tests need no model and always run.

use continuum_e2e::{llm_url, TestHome};
use serde_json::{json, Value};

/// The credential the `local` provider names. llama-cpp-python started
/// without `--api_key` ignores the header, so this proves a configured key
/// is sent yet never shown or logged.
const KEY_ENV: &str = "CONTINUUM_E2E_LLM_KEY";
const KEY_VALUE: &str = "sk-e2e-do-not-leak-4f1c9a";

/// A home whose `providers.toml` is `providers`, with a daemon started with
/// the test key in its environment and debug logging on.
fn start_with(providers: &str) -> TestHome {
    let t = TestHome::new();
    std::fs::create_dir_all(t.home().root()).unwrap();
    std::fs::write(t.home().root().join("providers.toml"), providers).unwrap();
    let out = t
        .cu_command(&["start"])
        .env(KEY_ENV, KEY_VALUE)
        .env("CONTINUUM_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "cu start: {out:?}");
    t
}

fn local_provider(url: &str) -> String {
    format!(
        r#"
[providers.local]
kind = "openai"
base_url = "{url}"
model = "smollm2"
credential = "{KEY_ENV}"
"#
    )
}

fn assert_no_think_tags(s: &str) {
    assert!(
        !s.contains("<think>") && !s.contains("</think>"),
        "think tag in output: {s:?}"
    );
}

#[test]
fn generate_returns_clean_text_and_usage_from_a_real_model() {
    let Some(url) = llm_url() else { return };
    let t = start_with(&local_provider(&url));
    let out = t.cu(&[
        "ai/generate",
        "--provider",
        "local",
        "--prompt",
        "Say hi",
        "--max-tokens",
        "16",
        "--temperature",
        "0",
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_no_think_tags(&out.stdout());
    assert_no_think_tags(&out.stderr());
    let result = out.json();
    let text = result["text"].as_str().expect("text");
    assert!(!text.trim().is_empty(), "empty answer: {result}");
    assert!(
        result["usage"]["promptTokens"].as_u64().unwrap() > 0,
        "{result}"
    );
    assert!(
        result["usage"]["completionTokens"].as_u64().unwrap() > 0,
        "{result}"
    );
    assert_eq!(result["provider"], "local");
    assert_eq!(result["model"], "smollm2");
    assert!(
        matches!(result["finishReason"].as_str(), Some("stop" | "length")),
        "{result}"
    );
    assert!(result["toolCalls"].as_array().unwrap().is_empty());
    assert!(!t.log().contains(KEY_VALUE), "the key reached the log");
}

#[test]
fn the_default_provider_and_messages_work_without_naming_it() {
    let Some(url) = llm_url() else { return };
    let t = start_with(&local_provider(&url));
    let messages = json!([
        {"role": "system", "content": "You are brief."},
        {"role": "user", "content": "Name a colour."}
    ]);
    let out = t.cu(&[
        "ai/generate",
        "--messages",
        &messages.to_string(),
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--think",
        "suppress",
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    let result = out.json();
    assert!(
        !result["text"].as_str().unwrap().trim().is_empty(),
        "{result}"
    );
    assert_eq!(
        result["provider"], "local",
        "the only provider is the default"
    );
    assert_no_think_tags(&out.stdout());
}

#[test]
fn stream_prints_tokens_then_the_final_result() {
    let Some(url) = llm_url() else { return };
    let t = start_with(&local_provider(&url));
    let out = t.cu(&[
        "ai/generate",
        "--provider",
        "local",
        "--prompt",
        "Say hi",
        "--max-tokens",
        "16",
        "--temperature",
        "0",
        "--stream",
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_no_think_tags(&out.stdout());
    // Piped, `cu` prints the streamed text, a newline, then the result as
    // one JSON line.
    let stdout = out.stdout();
    let (streamed, last) = stdout
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or_else(|| panic!("no streamed text before the result: {out:?}"));
    let result: Value = serde_json::from_str(last).expect("final result line");
    let text = result["text"].as_str().unwrap();
    assert!(!text.trim().is_empty(), "{result}");
    assert_eq!(streamed, text, "the streamed tokens add up to the answer");
}

#[test]
fn stream_sends_many_deltas_before_the_result() {
    let Some(url) = llm_url() else { return };
    let t = start_with(&local_provider(&url));
    let mut raw = t.raw();
    raw.send(&json!({
        "jsonrpc": "2.0", "id": 7, "method": "ai/generate",
        "params": {
            "provider": "local", "prompt": "Say hi", "maxTokens": 16,
            "temperature": 0, "stream": true
        }
    }));
    let mut deltas = Vec::new();
    let response = loop {
        let frame = raw.recv();
        if frame["method"] == "$/stream" {
            assert_eq!(frame["params"]["requestId"], 7, "{frame}");
            deltas.push(frame["params"]["event"].clone());
        } else {
            break frame;
        }
    };
    let text = response["result"]["text"].as_str().expect("result text");
    let streamed: String = deltas.iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(streamed, text);
    // Live streaming, not one piece at the end: a plain answer's tokens
    // arrive as they are generated.
    assert!(
        deltas.len() >= 2,
        "expected several deltas, got {deltas:?} for {text:?}"
    );
}

#[test]
fn providers_lists_local_without_its_key() {
    let Some(url) = llm_url() else { return };
    let t = start_with(&local_provider(&url));
    let out = t.cu(&["ai/providers"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(!out.stdout().contains(KEY_VALUE), "{out:?}");
    let listed = out.json();
    let local = &listed["providers"][0];
    assert_eq!(local["name"], "local");
    assert_eq!(local["kind"], "openai");
    assert_eq!(local["baseUrl"], url.trim_end_matches('/'));
    assert_eq!(local["model"], "smollm2");
    assert_eq!(local["credential"], KEY_ENV, "the credential's name only");
    assert_eq!(local["credentialPresent"], true);
    assert_eq!(listed["defaultProvider"], "local");
}

// The error paths need no model.

#[test]
fn unknown_provider_is_a_typed_error_naming_the_field() {
    let t = start_with(&local_provider("http://127.0.0.1:9/v1"));
    let out = t.cu(&["ai/generate", "--provider", "locl", "--prompt", "hi"]);
    assert_eq!(out.code(), 2, "invalid params is a usage error: {out:?}");
    assert!(out.stderr().contains("field: /provider"), "{out:?}");
    assert!(out.stderr().contains("did you mean local?"), "{out:?}");

    let mut raw = t.raw();
    let answer = raw.request(
        1,
        "ai/generate",
        json!({"provider": "nope", "prompt": "hi"}),
    );
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(answer["error"]["data"]["field"], "/provider", "{answer}");
    let both = raw.request(
        2,
        "ai/generate",
        json!({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(both["error"]["data"]["field"], "/messages", "{both}");
}

#[test]
fn an_unreachable_provider_names_itself_and_what_to_check() {
    let t = start_with(
        "[providers.dead]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\nmax_attempts = 1\n",
    );
    let out = t.cu(&["ai/generate", "--prompt", "hi"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr().contains("provider 'dead'") && out.stderr().contains("is the server running?"),
        "{out:?}"
    );
    let answer = t.raw().request(1, "ai/generate", json!({"prompt": "hi"}));
    assert_eq!(answer["error"]["data"]["kind"], "upstream", "{answer}");
    assert_eq!(answer["error"]["data"]["detail"]["provider"], "dead");
    assert_eq!(answer["error"]["data"]["detail"]["kind"], "connect");
}

#[test]
fn without_providers_toml_the_daemon_starts_and_says_how_to_configure_it() {
    let t = TestHome::new();
    t.start();
    let out = t.cu(&["ai/generate", "--prompt", "hi"]);
    assert_eq!(out.code(), 1, "{out:?}");
    // Named relative to the home: no caller learns the home's absolute path.
    assert!(
        out.stderr()
            .contains("create $CONTINUUM_HOME/providers.toml"),
        "{out:?}"
    );
    let listed = t.cu(&["ai/providers"]).json();
    assert_eq!(listed["providers"], json!([]));
    assert_eq!(listed["configFile"], "$CONTINUUM_HOME/providers.toml");
    assert_eq!(t.cu(&["ping"]).code(), 0);
}

#[test]
fn a_broken_providers_toml_is_reported_without_echoing_its_values() {
    let t = start_with(
        "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key = \"sk-pasted-by-mistake\"\n",
    );
    let listed = t.cu(&["ai/providers"]);
    assert_eq!(listed.code(), 0, "{listed:?}");
    let error = listed.json()["configError"].as_str().unwrap().to_owned();
    assert!(error.contains("unknown field `api_key`"), "{error}");
    let out = t.cu(&["ai/generate", "--prompt", "hi"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr().contains("restart the daemon"), "{out:?}");
    for shown in [listed.stdout(), out.stderr(), t.log()] {
        assert!(!shown.contains("sk-pasted"), "{shown}");
    }
}

/// `[egress]` in config.toml: a provider whose host is not on the list is
/// refused before any connection, with a typed error and an audit record;
/// a listed host is reached; a bad pattern fails the start.
#[test]
fn the_egress_policy_refuses_an_unlisted_provider_host_and_audits_it() {
    use continuum_e2e::scripted_model::{completion, ScriptedModel};
    let model = ScriptedModel::start(|_| completion("reached"));
    let t = TestHome::new();
    t.write("providers.toml", &model.providers_toml("local"));
    t.write("config.toml", "[egress]\nallow = [\"api.example.com\"]\n");
    t.start();
    let refused = t.cu(&["ai/generate", "--prompt", "hi"]);
    assert_ne!(refused.code(), 0, "{refused:?}");
    assert!(
        refused.stderr().contains("egress") && refused.stderr().contains("127.0.0.1"),
        "{refused:?}"
    );
    assert!(model.requests().is_empty(), "no connection was made");
    let tail = t.cu_json(&["audit/tail", "--limit", "50"]);
    assert!(
        tail["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["command"] == "egress/connect"
                && r["caller"] == "adapter:local"
                && r["outcome"] == "denied"
                && r["reason"] == "egress_denied"
                && r["forwardedFor"] == "127.0.0.1"),
        "{tail}"
    );

    assert_eq!(t.cu(&["stop"]).code(), 0);
    t.write(
        "config.toml",
        "[egress]\nallow = [\"api.example.com\"]\n[egress.adapters.local]\nallow = [\"127.0.0.1\"]\n",
    );
    t.start();
    assert_eq!(
        t.cu_json(&["ai/generate", "--prompt", "hi"])["text"],
        "reached"
    );

    assert_eq!(t.cu(&["stop"]).code(), 0);
    t.write("config.toml", "[egress]\nallow = [\"not a host\"]\n");
    let bad = t.cu(&["start"]);
    assert_ne!(bad.code(), 0, "{bad:?}");
    assert!(
        bad.stderr().contains("not a host") || t.log().contains("not a host"),
        "{bad:?}"
    );
}
