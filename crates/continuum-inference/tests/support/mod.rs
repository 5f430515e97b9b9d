//! Test support: a scripted HTTP server and helpers.
//!
//! [`ScriptedServer`] is a scripted stand-in for vendor wire formats we
//! cannot run here (OpenAI, Anthropic, vLLM, Ollama, llama.cpp). It speaks
//! just enough HTTP/1.1 to serve canned responses, one per connection, in the
//! order given, and records every request so tests can check what was sent.
//! The canned bodies follow the vendors' documented formats; they prove our
//! parsing of those formats, not the vendors' behaviour.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use continuum_inference::{
    EventStream, GenerateResponse, InferenceError, ProviderConfig, ProviderKind, RetryPolicy,
    StreamEvent,
};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One canned response.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// A complete response with a body.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A 200 `text/event-stream` body sent as one HTTP chunk per piece.
    Sse(Vec<String>),
    /// Like `Sse`, but the connection closes before the body's end.
    SseDropped(Vec<String>),
    /// Accepts the request and never answers.
    Hang,
}

impl Reply {
    /// A JSON body with `status`.
    pub(crate) fn json(status: u16, body: serde_json::Value) -> Self {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    /// A raw body with `status`.
    pub(crate) fn raw(status: u16, body: &str) -> Self {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// Adds a header to a `Full` reply.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// SSE pieces given as raw strings (each becomes one HTTP chunk).
    pub(crate) fn sse<S: AsRef<str>>(pieces: &[S]) -> Self {
        Reply::Sse(pieces.iter().map(|p| p.as_ref().to_owned()).collect())
    }
}

/// `data: <json>\n\n` for each value (OpenAI style).
pub(crate) fn data_events(values: &[serde_json::Value]) -> Vec<String> {
    values.iter().map(|v| format!("data: {v}\n\n")).collect()
}

/// `event: <type>\ndata: <json>\n\n` for each value (Anthropic style).
pub(crate) fn typed_events(values: &[serde_json::Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap()))
        .collect()
}

/// A request the server received.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub at: Instant,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// See the module docs.
pub(crate) struct ScriptedServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedServer {
    /// Serves `replies` in order, one per connection.
    pub(crate) async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            for reply in replies {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                tokio::spawn(serve_one(socket, reply, recorded));
            }
        });
        Self {
            base,
            requests,
            task,
        }
    }

    /// The requests received so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve_one(mut socket: TcpStream, reply: Reply, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    recorded.lock().unwrap().push(request);
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (n, v) in headers {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        }
        Reply::Sse(pieces) => write_sse(&mut socket, &pieces, true).await,
        Reply::SseDropped(pieces) => write_sse(&mut socket, &pieces, false).await,
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
    let _ = socket.shutdown().await;
}

async fn write_sse(socket: &mut TcpStream, pieces: &[String], complete: bool) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let _ = socket.write_all(head.as_bytes()).await;
    for piece in pieces {
        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
        let _ = socket.write_all(chunk.as_bytes()).await;
        let _ = socket.flush().await;
        // Separate writes so the client sees separate reads.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if complete {
        let _ = socket.write_all(b"0\r\n\r\n").await;
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        at: Instant::now(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// A provider config pointing at `base`, with fast retries and timeouts.
pub(crate) fn config(kind: ProviderKind, base: &str, model: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new("scripted", kind, base, model);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    };
    c.timeout = Duration::from_secs(5);
    c.read_timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_secs(2);
    c
}

/// Everything a stream produced.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub text: String,
    pub reasoning: String,
    pub done: Option<GenerateResponse>,
    pub error: Option<InferenceError>,
    pub events: usize,
}

impl Collected {
    /// The final response; panics if the stream failed.
    pub(crate) fn done(&self) -> &GenerateResponse {
        match (&self.done, &self.error) {
            (Some(done), _) => done,
            (None, Some(e)) => panic!("stream failed: {e}"),
            (None, None) => panic!("stream ended without Done"),
        }
    }

    /// Asserts the deltas add up to the final response.
    pub(crate) fn assert_deltas_match_done(&self) {
        let done = self.done();
        assert_eq!(self.text, done.text, "text deltas vs Done");
        assert_eq!(
            Some(self.reasoning.clone()).filter(|r| !r.is_empty()),
            done.reasoning,
            "reasoning deltas vs Done"
        );
    }
}

/// Drains a stream, checking nothing follows `Done` or an error.
pub(crate) async fn collect(mut stream: EventStream) -> Collected {
    let mut c = Collected::default();
    while let Some(item) = stream.next().await {
        assert!(c.done.is_none() && c.error.is_none(), "item after the end");
        c.events += 1;
        match item {
            Ok(StreamEvent::TextDelta(t)) => c.text.push_str(&t),
            Ok(StreamEvent::ReasoningDelta(r)) => c.reasoning.push_str(&r),
            Ok(StreamEvent::Done(d)) => c.done = Some(d),
            Err(e) => c.error = Some(e),
        }
    }
    c
}
