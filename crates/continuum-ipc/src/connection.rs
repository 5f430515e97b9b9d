//! One client connection: many requests in flight, answered as they finish.
//! JSON-RPC 2.0 batches are answered with one array holding the responses to
//! the batch's calls (none for notifications; nothing at all for a batch of
//! notifications).

use super::frame::{Frame, FrameReader};
use continuum_kernel::command::{CallMeta, StreamSink};
use continuum_kernel::credential::Credential;
use continuum_kernel::{Request, Session};
use continuum_wire::{ErrorCode, Id, RequestMeta, Response, RpcError, JSONRPC_VERSION};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

/// Per-connection limits. Together they bound what one connection can hold:
/// a partial frame (`max_frame_bytes`), the requests in flight and their
/// answers (`max_in_flight`), and the time a client may leave answers unread
/// (`write_timeout`) or hold a connection without completing a frame
/// (`idle_timeout`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Largest frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Most requests of one connection running at once; reading pauses beyond.
    pub max_in_flight: usize,
    /// A connection whose answers cannot be written for this long (the client
    /// does not read them) is dropped.
    pub write_timeout: Duration,
    /// A connection with nothing in flight that completes no frame for this
    /// long is dropped (slow or idle clients); `None` keeps it.
    pub idle_timeout: Option<Duration>,
    /// Requests per second one connection may make (bursts up to this many);
    /// beyond, a request is answered `overloaded` (reason `rate_limited`)
    /// without running. `None`: unlimited.
    pub max_requests_per_second: Option<u32>,
}

impl ConnectionLimits {
    /// The owner's Unix socket: generous, no idle timeout.
    pub const OWNER: ConnectionLimits = ConnectionLimits {
        max_frame_bytes: continuum_wire::DEFAULT_MAX_FRAME_BYTES,
        max_in_flight: 256,
        write_timeout: Duration::from_secs(60),
        idle_timeout: None,
        max_requests_per_second: None,
    };

    /// Remote listeners (TCP, peers): fewer requests in flight, and slow or
    /// idle connections are dropped.
    pub const REMOTE: ConnectionLimits = ConnectionLimits {
        max_frame_bytes: continuum_wire::DEFAULT_MAX_FRAME_BYTES,
        max_in_flight: 32,
        write_timeout: Duration::from_secs(30),
        idle_timeout: Some(Duration::from_secs(120)),
        max_requests_per_second: Some(200),
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::OWNER
    }
}

/// Limits of one listener: how many connections at once, and each one's.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// Connections served at once; more are refused with one error line.
    pub max_connections: usize,
    /// Each connection's limits.
    pub connection: ConnectionLimits,
}

impl ListenerLimits {
    /// The owner's Unix socket.
    pub const OWNER: ListenerLimits = ListenerLimits {
        max_connections: 1024,
        connection: ConnectionLimits::OWNER,
    };

    /// A remote listener (TCP, peers).
    pub const REMOTE: ListenerLimits = ListenerLimits {
        max_connections: 64,
        connection: ConnectionLimits::REMOTE,
    };
}

/// Longest method name accepted; command names are far shorter.
const MAX_METHOD_BYTES: usize = 256;

/// Longest `meta.forwardedFor`: it is written to the audit log.
pub const MAX_FORWARDED_FOR_BYTES: usize = 256;

/// Longest `meta.grant` text: the grant format's size limit in base64url.
const MAX_GRANT_TEXT_BYTES: usize = 32 * 1024;

/// Most calls of one batch running at once.
const BATCH_CONCURRENCY: usize = 16;

/// Outgoing bytes buffered before a write reaches the socket.
const WRITE_BUFFER: usize = 64 * 1024;

/// A request being answered: resolves to how many requests it stood for (a
/// batch stands for its members) and the bytes of its answer line, or
/// nothing for a notification.
type Answer = Pin<Box<dyn Future<Output = (usize, Option<Vec<u8>>)> + Send>>;

/// What the connection loop does next.
enum Event {
    /// A frame from the client (or its end).
    Read(io::Result<Option<Frame>>),
    /// A request finished (with how many requests it stood for).
    Answered(usize, Option<Vec<u8>>),
    /// A handler streamed an event.
    Streamed(Vec<u8>),
    /// Shutdown began: stop reading.
    ShuttingDown,
    /// Nothing in flight and no frame completed within the idle timeout.
    Idle,
}

/// Serves one connection until the client closes it or shutdown begins, then
/// finishes the requests already read and flushes their answers. Every call
/// runs as `session`'s caller.
///
/// One task does everything: it reads frames, drives the requests in flight
/// (many at once, answered as they finish), and writes answers and stream
/// events, flushing once nothing else is ready. No task is spawned per
/// request and no answer hops to a writer task, so a request costs no
/// cross-thread wakeups. A client that stops reading its answers fills the
/// write buffer and the loop stops reading its requests.
pub async fn serve_connection<R, W>(
    reader: R,
    writer: W,
    session: Session,
    shutdown: CancellationToken,
    limits: ConnectionLimits,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let session = Arc::new(session);
    let (stream_tx, mut streamed) = mpsc::channel::<Vec<u8>>(256);
    // Turns true at end of input or shutdown, so handlers that stream until
    // the client goes (`chat/history --follow`) stop then.
    let (hangup_tx, hangup) = watch::channel(false);
    let outlet = Outlet {
        frames: stream_tx,
        hangup,
    };
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, writer);
    let mut reader = FrameReader::new(
        BufReader::with_capacity(64 * 1024, reader),
        limits.max_frame_bytes,
    );
    let mut in_flight: FuturesUnordered<Answer> = FuturesUnordered::new();
    // Requests in flight, batch members counted one by one.
    let mut pending = 0usize;
    let mut reading = true;
    // Only connections with an idle timeout pay for a timer.
    let mut idle = limits
        .idle_timeout
        .map(|timeout| Box::pin(tokio::time::sleep(timeout)));
    let mut rate = limits.max_requests_per_second.map(TokenBucket::new);
    loop {
        if !reading && in_flight.is_empty() {
            break;
        }
        // (A macro, not a closure: each call borrows the loop's state anew.)
        macro_rules! next {
            () => {
                next_event(
                    &shutdown,
                    reading,
                    &mut streamed,
                    &mut in_flight,
                    &mut reader,
                    pending < limits.max_in_flight,
                    idle.as_mut(),
                )
            };
        }
        // Take whatever is ready now; flush only before waiting, so answers
        // that finish together leave in one write.
        let event = match next!().now_or_never() {
            Some(event) => event,
            None => {
                if !out.buffer().is_empty() && !bounded(&limits, out.flush()).await {
                    return;
                }
                next!().await
            }
        };
        let bytes = match event {
            Event::ShuttingDown => {
                // Requests that stream until the client goes (follows) end
                // now, so shutdown never waits on them.
                hangup_tx.send_replace(true);
                reading = false;
                continue;
            }
            Event::Idle => {
                tracing::debug!("dropping a connection idle past its timeout");
                let _ = bounded(&limits, out.flush()).await;
                return;
            }
            Event::Streamed(bytes) => bytes,
            Event::Answered(cost, answer) => {
                pending -= cost;
                if in_flight.is_empty() {
                    // Idle time counts from the last answer, not the last read.
                    restart(&mut idle, &limits);
                }
                // Events a handler emitted just before it returned belong
                // before its answer.
                while let Ok(event) = streamed.try_recv() {
                    if !bounded(&limits, out.write_all(&event)).await {
                        return;
                    }
                }
                match answer {
                    Some(bytes) => bytes,
                    None => continue,
                }
            }
            Event::Read(frame) => match read_frame(frame, &limits, &mut idle) {
                Read::Message(message) => {
                    let cost = match &message {
                        Value::Array(batch) => batch.len().max(1),
                        _ => 1,
                    };
                    if cost > limits.max_in_flight {
                        line(&batch_too_large(limits.max_in_flight))
                    } else if rate.as_mut().is_some_and(|bucket| !bucket.take(cost)) {
                        match rate_limited(&message) {
                            Some(refusal) => line(&refusal),
                            None => continue,
                        }
                    } else {
                        pending += cost;
                        in_flight.push(answer(Arc::clone(&session), message, cost, outlet.clone()));
                        continue;
                    }
                }
                Read::Refused(response) => line(&response),
                Read::End => {
                    hangup_tx.send_replace(true);
                    reading = false;
                    continue;
                }
            },
        };
        if !bounded(&limits, out.write_all(&bytes)).await {
            return;
        }
    }
    // Stream events sent just before their request's answer are already
    // queued: write them too.
    while let Ok(bytes) = streamed.try_recv() {
        if !bounded(&limits, out.write_all(&bytes)).await {
            return;
        }
    }
    if bounded(&limits, out.flush()).await {
        let _ = out.shutdown().await;
    }
}

/// Runs one write under the connection's write timeout; false when the
/// client is gone or has not read its answers for that long.
async fn bounded(limits: &ConnectionLimits, write: impl Future<Output = io::Result<()>>) -> bool {
    match tokio::time::timeout(limits.write_timeout, write).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::info!(
                timeout_ms = limits.write_timeout.as_millis() as u64,
                "dropping a connection that does not read its answers"
            );
            false
        }
    }
}

/// The next thing to do, in priority order: shutdown, stream events,
/// finished requests, then a new frame (only below the in-flight limit).
async fn next_event<R: AsyncRead + Unpin>(
    shutdown: &CancellationToken,
    reading: bool,
    streamed: &mut mpsc::Receiver<Vec<u8>>,
    in_flight: &mut FuturesUnordered<Answer>,
    reader: &mut FrameReader<BufReader<R>>,
    room: bool,
    idle: Option<&mut Pin<Box<Sleep>>>,
) -> Event {
    let idle_applies = idle.is_some() && in_flight.is_empty() && reading;
    let idle = async {
        match idle {
            Some(sleep) => sleep.as_mut().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = shutdown.cancelled(), if reading => Event::ShuttingDown,
        Some(bytes) = streamed.recv() => Event::Streamed(bytes),
        Some((cost, answer)) = in_flight.next(), if !in_flight.is_empty() => Event::Answered(cost, answer),
        frame = reader.next(), if reading && room => Event::Read(frame),
        () = idle, if idle_applies => Event::Idle,
    }
}

/// A per-connection request budget: `rate` tokens a second, at most `rate`
/// saved up.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    refilled: std::time::Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> TokenBucket {
        let rate = f64::from(rate.max(1));
        TokenBucket {
            rate,
            tokens: rate,
            refilled: std::time::Instant::now(),
        }
    }

    /// Takes `cost` tokens if there are that many.
    fn take(&mut self, cost: usize) -> bool {
        let now = std::time::Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate);
        self.refilled = now;
        let cost = cost as f64;
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

/// The answer to a request over its connection's rate: `overloaded` with
/// reason `rate_limited` (none for a notification; one for a whole batch).
fn rate_limited(message: &Value) -> Option<Response> {
    if message.is_object() && message.get("id").is_none() {
        return None;
    }
    let id = request_id(message);
    let error = RpcError::new(
        ErrorCode::Overloaded,
        "this connection is over its request rate; slow down",
    )
    .with_reason("rate_limited");
    Some(Response::err(id, error))
}

/// What one read gave.
enum Read {
    /// A JSON message to answer.
    Message(Value),
    /// A frame answered at once with an error.
    Refused(Response),
    /// The client closed, or reading failed.
    End,
}

fn read_frame(
    frame: io::Result<Option<Frame>>,
    limits: &ConnectionLimits,
    idle: &mut Option<Pin<Box<Sleep>>>,
) -> Read {
    // A completed frame (even a bad one) restarts the idle clock.
    if let Ok(Some(_)) = &frame {
        restart(idle, limits);
    }
    let line = match frame {
        Ok(Some(Frame::Line(line))) => line,
        Ok(Some(Frame::TooLarge)) => {
            let error = RpcError::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "frame exceeds the {} byte limit and was discarded",
                    limits.max_frame_bytes
                ),
            );
            return Read::Refused(Response::err(None, error));
        }
        Ok(None) => return Read::End,
        Err(err) => {
            tracing::debug!(error = %err, "connection read failed");
            return Read::End;
        }
    };
    match serde_json::from_slice::<Value>(&line) {
        Ok(message) if has_oversized_integer(&line) => {
            // The parser would have turned it into a float, silently losing
            // digits; refuse instead.
            let error = RpcError::new(
                ErrorCode::InvalidRequest,
                "an integer in this request does not fit in 64 bits; send it as a string",
            );
            Read::Refused(Response::err(request_id(&message), error))
        }
        Ok(message) => Read::Message(message),
        Err(err) => {
            let error = RpcError::new(ErrorCode::ParseError, format!("malformed JSON: {err}"));
            Read::Refused(Response::err(None, error))
        }
    }
}

/// Whether `json` holds an integer literal outside both `i64` and `u64`
/// (valid JSON, but `serde_json` would read it as a lossy float). Scans the
/// text once, skipping strings.
fn has_oversized_integer(json: &[u8]) -> bool {
    let mut index = 0;
    while index < json.len() {
        match json[index] {
            b'"' => {
                index += 1;
                while index < json.len() && json[index] != b'"' {
                    index += if json[index] == b'\\' { 2 } else { 1 };
                }
                index += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = index;
                while index < json.len()
                    && matches!(json[index], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    index += 1;
                }
                let token = &json[start..index];
                let integer = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                if integer {
                    let text = std::str::from_utf8(token).unwrap_or_default();
                    if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                        return true;
                    }
                }
            }
            _ => index += 1,
        }
    }
    false
}

/// The id of a single request, for answering it before it is parsed.
fn request_id(message: &Value) -> Option<Id> {
    match message.get("id")? {
        Value::String(text) => Some(Id::String(text.clone())),
        Value::Number(number) => number.as_i64().map(Id::Number),
        _ => None,
    }
}

/// Restarts the idle clock, if this connection has one.
fn restart(idle: &mut Option<Pin<Box<Sleep>>>, limits: &ConnectionLimits) {
    if let (Some(sleep), Some(timeout)) = (idle.as_mut(), limits.idle_timeout) {
        sleep.as_mut().reset(Instant::now() + timeout);
    }
}

/// A batch with more members than the connection may have in flight.
fn batch_too_large(max: usize) -> Response {
    let error = RpcError::new(
        ErrorCode::InvalidRequest,
        format!("a batch on this connection holds at most {max} requests"),
    );
    Response::err(None, error)
}

/// Where a connection's requests send stream events, and how they learn
/// the client hung up.
#[derive(Clone)]
struct Outlet {
    frames: mpsc::Sender<Vec<u8>>,
    hangup: watch::Receiver<bool>,
}

/// The answer to one message: a single request or a batch of `cost` members.
fn answer(session: Arc<Session>, message: Value, cost: usize, stream: Outlet) -> Answer {
    Box::pin(async move {
        let bytes = match message {
            Value::Array(batch) => serve_batch(&session, batch, &stream).await,
            single => serve_one(&session, single, &stream)
                .await
                .map(|response| line(&response)),
        };
        (cost, bytes)
    })
}

/// Answers one request, or `None` for a notification.
async fn serve_one(session: &Session, message: Value, stream: &Outlet) -> Option<Response> {
    let request = match parse_request(message) {
        Ok(request) => request,
        Err(response) => return Some(response),
    };
    let (id, answered) = (request.id.clone(), request.answered);
    let result = session.call(request.into_call(stream)).await;
    if !answered {
        return None;
    }
    Some(match result {
        Ok(value) => Response::ok(id, value),
        Err(err) => Response::err(id, err.into()),
    })
}

/// Answers a batch per JSON-RPC 2.0: an empty batch is one invalid-request
/// error; otherwise one array with a response per call (notifications get
/// none), or nothing when every member was a notification.
async fn serve_batch(session: &Session, batch: Vec<Value>, stream: &Outlet) -> Option<Vec<u8>> {
    if batch.is_empty() {
        let error = RpcError::new(ErrorCode::InvalidRequest, "an empty batch is not a request");
        return Some(line(&Response::err(None, error)));
    }
    let responses: Vec<Response> = futures_util::stream::iter(batch)
        .map(|message| serve_one(session, message, stream))
        .buffered(BATCH_CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    (!responses.is_empty()).then(|| line(&responses))
}

/// One JSON line.
fn line(message: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message).unwrap_or_else(|err| {
        tracing::error!(error = %err, "an answer did not serialize");
        let error = RpcError::new(ErrorCode::Internal, "the answer did not serialize");
        serde_json::to_vec(&Response::err(None, error)).unwrap_or_default()
    });
    bytes.push(b'\n');
    bytes
}

/// A request that passed shape checks.
struct ParsedRequest {
    /// `None` with `answered` for `"id": null` (allowed, if discouraged).
    id: Option<Id>,
    /// Whether it gets an answer (it has an `id` member, even null), or is a
    /// notification.
    answered: bool,
    method: String,
    params: Value,
    meta: RequestMeta,
}

impl ParsedRequest {
    /// The kernel request; stream events go to this connection's writer.
    fn into_call(self, outlet: &Outlet) -> Request {
        Request {
            stream: self.id.clone().map(|id| {
                StreamSink::new(id, outlet.frames.clone()).with_hangup(outlet.hangup.clone())
            }),
            meta: CallMeta {
                request_id: self.id,
                forwarded_for: self.meta.forwarded_for,
            },
            credential: self.meta.grant.map(Credential::Grant),
            max_trust: self.meta.max_trust,
            as_persona: self.meta.as_persona,
            method: self.method,
            params: self.params,
        }
    }
}

/// Checks one message is a JSON-RPC 2.0 request, or builds the error answer.
/// Params are passed on as they are: the dispatcher answers an unknown method
/// first (-32601), then params that are not an object (-32602).
fn parse_request(value: Value) -> Result<ParsedRequest, Response> {
    let Value::Object(mut object) = value else {
        return Err(Response::err(
            None,
            RpcError::new(ErrorCode::InvalidRequest, "a request must be a JSON object"),
        ));
    };
    let invalid = |id: Option<Id>, field: &str, message: &str| {
        Response::err(
            id,
            RpcError::new(ErrorCode::InvalidRequest, message).with_field(field),
        )
    };
    let answered = object.contains_key("id");
    let id = match object.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(Id::String(text)),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(n) => Some(Id::Number(n)),
            None => return Err(invalid(None, "/id", "id must be an integer or a string")),
        },
        Some(_) => return Err(invalid(None, "/id", "id must be an integer or a string")),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some(JSONRPC_VERSION) {
        return Err(invalid(id, "/jsonrpc", "jsonrpc must be \"2.0\""));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) if method.len() > MAX_METHOD_BYTES => {
            // Not echoed, and never compared with command names.
            return Err(invalid(
                id,
                "/method",
                &format!("method names are at most {MAX_METHOD_BYTES} bytes"),
            ));
        }
        Some(Value::String(method)) if !method.is_empty() => method,
        _ => return Err(invalid(id, "/method", "method must be a non-empty string")),
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    let meta: RequestMeta = match object.remove("meta") {
        None | Some(Value::Null) => RequestMeta::default(),
        Some(meta) => serde_json::from_value(meta)
            .map_err(|err| invalid(id.clone(), "/meta", &format!("invalid meta: {err}")))?,
    };
    // Every string that reaches the audit log is bounded.
    if meta
        .forwarded_for
        .as_ref()
        .is_some_and(|who| who.len() > MAX_FORWARDED_FOR_BYTES)
    {
        return Err(invalid(
            id,
            "/meta/forwardedFor",
            &format!("forwardedFor is at most {MAX_FORWARDED_FOR_BYTES} bytes"),
        ));
    }
    if meta
        .grant
        .as_ref()
        .is_some_and(|grant| grant.len() > MAX_GRANT_TEXT_BYTES)
    {
        return Err(invalid(
            id,
            "/meta/grant",
            &format!("a grant is at most {MAX_GRANT_TEXT_BYTES} bytes of text"),
        ));
    }
    Ok(ParsedRequest {
        id,
        answered,
        method,
        params,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_kind(line: &str) -> String {
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(_) => return "parse_error".into(),
        };
        match parse_request(value) {
            Ok(_) => "ok".into(),
            Err(response) => response.error.unwrap().data.unwrap().kind,
        }
    }

    #[test]
    fn integers_beyond_64_bits_are_found_outside_strings_only() {
        let oversized = |text: &str| has_oversized_integer(text.as_bytes());
        assert!(oversized(r#"{"n": 18446744073709551616}"#));
        assert!(oversized(r#"{"n": -9223372036854775809}"#));
        assert!(oversized(
            r#"[1, 2, 100000000000000000000000000000000000000000000]"#
        ));
        assert!(!oversized(
            r#"{"n": 18446744073709551615, "m": -9223372036854775808}"#
        ));
        assert!(!oversized(
            r#"{"n": 1e300, "m": 1.5, "s": "18446744073709551616"}"#
        ));
        assert!(!oversized(
            r#"{"s": "esc \" 99999999999999999999999 \" end"}"#
        ));
    }

    #[test]
    fn request_shapes() {
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            "ok"
        );
        assert_eq!(error_kind(r#"{"jsonrpc":"2.0","method":"ping"}"#), "ok");
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            "ok"
        );
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#),
            "parse_error"
        );
        assert_eq!(error_kind(r#"1"#), "invalid_request");
        assert_eq!(
            error_kind(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            "invalid_request"
        );
        assert_eq!(error_kind(r#"{"jsonrpc":"2.0","id":1}"#), "invalid_request");
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            "invalid_request"
        );
        // Positional params pass the shape check: the dispatcher answers
        // -32601 for an unknown method before it looks at params.
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#),
            "ok"
        );
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping","meta":{"bogus":1}}"#),
            "invalid_request"
        );
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping","meta":{"maxTrust":"root"}}"#),
            "invalid_request"
        );
        let long_method = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
            "x".repeat(257)
        );
        assert_eq!(error_kind(&long_method), "invalid_request");
        let long_for = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","meta":{{"forwardedFor":"{}"}}}}"#,
            "a".repeat(257)
        );
        assert_eq!(error_kind(&long_for), "invalid_request");
        assert_eq!(
            error_kind(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","meta":{"maxTrust":"provisional"}}"#
            ),
            "ok"
        );
    }
}
