//! A scripted OpenAI-compatible chat server, for model behaviour the real
//! small model cannot produce reliably (tool calls, always addressing other
//! personas, instant answers for benchmarks). It says what it is: a stand-in
//! that speaks the documented `/v1/chat/completions` wire format, answering
//! each request with whatever the test's script returns, and recording every
//! request body. The body handed to the script and recorded also carries
//! the request's `Authorization` header as `__authorization` and when it
//! arrived as `__received_ms` (Unix ms).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the script decides for one request: the answer's text, or tool calls.
pub type Script = dyn Fn(&Value) -> Value + Send + Sync;

/// A running scripted server (stops with the test process).
pub struct ScriptedModel {
    /// Base URL for `providers.toml` (`http://127.0.0.1:PORT/v1`).
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl ScriptedModel {
    /// Serves `script` on a loopback port; each request body is passed to it
    /// and its value is the response body.
    pub fn start(script: impl Fn(&Value) -> Value + Send + Sync + 'static) -> ScriptedModel {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, recorded) = (Arc::clone(&script), Arc::clone(&recorded));
                std::thread::spawn(move || serve(stream, &*script, &recorded));
            }
        });
        ScriptedModel { url, requests }
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// A `providers.toml` naming this server as provider `name`.
    pub fn providers_toml(&self, name: &str) -> String {
        format!(
            "[providers.{name}]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"scripted\"\n",
            self.url
        )
    }
}

/// Serves requests on one connection until the client closes it.
fn serve(stream: TcpStream, script: &Script, recorded: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut authorization = None;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if first {
                first = false;
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.trim().to_owned());
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Some(object) = request.as_object_mut() {
            let received_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            object.insert("__received_ms".into(), json!(received_ms));
            if let Some(authorization) = authorization {
                object.insert("__authorization".into(), json!(authorization));
            }
        }
        recorded.lock().unwrap().push(request.clone());
        let mut answer = script(&request);
        // A script answers an HTTP error with `{"__status": 400, ...body}`.
        let status = answer
            .as_object_mut()
            .and_then(|body| body.remove("__status"))
            .and_then(|status| status.as_u64())
            .unwrap_or(200);
        let answer = answer.to_string();
        let head = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(answer.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// A chat completion answering `text`.
pub fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    })
}

/// An HTTP error answer with an OpenAI-style error body.
pub fn http_error(status: u16, message: &str) -> Value {
    json!({"__status": status, "error": {"message": message, "type": "invalid_request_error"}})
}

/// A chat completion calling one tool.
pub fn tool_call(id: &str, name: &str, arguments: Value) -> Value {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": "scripted",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    })
}

/// The tool results already in a request (`role: tool` messages' contents).
pub fn tool_results(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The name in the request's system prompt (`You are NAME, ...`).
pub fn persona_name(request: &Value) -> String {
    let system = request["messages"][0]["content"].as_str().unwrap_or("");
    system
        .split("You are ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("")
        .to_owned()
}
