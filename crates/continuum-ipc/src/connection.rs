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
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Largest frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Most requests of one connection running at once; reading pauses beyond.
    pub max_in_flight: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_frame_bytes: continuum_wire::DEFAULT_MAX_FRAME_BYTES,
            max_in_flight: 256,
        }
    }
}

/// Most calls of one batch running at once.
const BATCH_CONCURRENCY: usize = 16;

/// Outgoing bytes buffered before a write reaches the socket.
const WRITE_BUFFER: usize = 64 * 1024;

/// A request being answered: resolves to the bytes of its answer line, or
/// nothing for a notification.
type Answer = Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>>;

/// What the connection loop does next.
enum Event {
    /// A frame from the client (or its end).
    Read(io::Result<Option<Frame>>),
    /// A request finished.
    Answered(Option<Vec<u8>>),
    /// A handler streamed an event.
    Streamed(Vec<u8>),
    /// Shutdown began: stop reading.
    ShuttingDown,
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
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, writer);
    let mut reader = FrameReader::new(
        BufReader::with_capacity(64 * 1024, reader),
        limits.max_frame_bytes,
    );
    let mut in_flight: FuturesUnordered<Answer> = FuturesUnordered::new();
    let mut reading = true;
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
                    limits.max_in_flight,
                )
            };
        }
        // Take whatever is ready now; flush only before waiting, so answers
        // that finish together leave in one write.
        let event = match next!().now_or_never() {
            Some(event) => event,
            None => {
                if !out.buffer().is_empty() && out.flush().await.is_err() {
                    return;
                }
                next!().await
            }
        };
        let bytes = match event {
            Event::ShuttingDown => {
                reading = false;
                continue;
            }
            Event::Streamed(bytes) | Event::Answered(Some(bytes)) => bytes,
            Event::Answered(None) => continue,
            Event::Read(frame) => match read_frame(frame, &limits) {
                Read::Message(message) => {
                    in_flight.push(answer(Arc::clone(&session), message, stream_tx.clone()));
                    continue;
                }
                Read::Refused(response) => line(&response),
                Read::End => {
                    reading = false;
                    continue;
                }
            },
        };
        if out.write_all(&bytes).await.is_err() {
            return;
        }
    }
    // Stream events sent just before their request's answer are already
    // queued: write them too.
    while let Ok(bytes) = streamed.try_recv() {
        if out.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = out.flush().await;
    let _ = out.shutdown().await;
}

/// The next thing to do, in priority order: shutdown, stream events,
/// finished requests, then a new frame (only below the in-flight limit).
async fn next_event<R: AsyncRead + Unpin>(
    shutdown: &CancellationToken,
    reading: bool,
    streamed: &mut mpsc::Receiver<Vec<u8>>,
    in_flight: &mut FuturesUnordered<Answer>,
    reader: &mut FrameReader<BufReader<R>>,
    max_in_flight: usize,
) -> Event {
    let room = in_flight.len() < max_in_flight;
    tokio::select! {
        biased;
        () = shutdown.cancelled(), if reading => Event::ShuttingDown,
        Some(bytes) = streamed.recv() => Event::Streamed(bytes),
        Some(answer) = in_flight.next(), if !in_flight.is_empty() => Event::Answered(answer),
        frame = reader.next(), if reading && room => Event::Read(frame),
    }
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

fn read_frame(frame: io::Result<Option<Frame>>, limits: &ConnectionLimits) -> Read {
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
        Ok(message) => Read::Message(message),
        Err(err) => {
            let error = RpcError::new(ErrorCode::ParseError, format!("malformed JSON: {err}"));
            Read::Refused(Response::err(None, error))
        }
    }
}

/// The answer to one message: a single request or a batch.
fn answer(session: Arc<Session>, message: Value, stream: mpsc::Sender<Vec<u8>>) -> Answer {
    Box::pin(async move {
        match message {
            Value::Array(batch) => serve_batch(&session, batch, &stream).await,
            single => serve_one(&session, single, &stream)
                .await
                .map(|response| line(&response)),
        }
    })
}

/// Answers one request, or `None` for a notification.
async fn serve_one(
    session: &Session,
    message: Value,
    stream: &mpsc::Sender<Vec<u8>>,
) -> Option<Response> {
    let request = match parse_request(message) {
        Ok(request) => request,
        Err(response) => return Some(response),
    };
    let id = request.id.clone();
    let result = session.call(request.into_call(stream)).await;
    let id = id?;
    Some(match result {
        Ok(value) => Response::ok(Some(id), value),
        Err(err) => Response::err(Some(id), err.into()),
    })
}

/// Answers a batch per JSON-RPC 2.0: an empty batch is one invalid-request
/// error; otherwise one array with a response per call (notifications get
/// none), or nothing when every member was a notification.
async fn serve_batch(
    session: &Session,
    batch: Vec<Value>,
    stream: &mpsc::Sender<Vec<u8>>,
) -> Option<Vec<u8>> {
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
    id: Option<Id>,
    method: String,
    params: Value,
    meta: RequestMeta,
}

impl ParsedRequest {
    /// The kernel request; stream events go to this connection's writer.
    fn into_call(self, frames: &mpsc::Sender<Vec<u8>>) -> Request {
        Request {
            stream: self
                .id
                .clone()
                .map(|id| StreamSink::new(id, frames.clone())),
            meta: CallMeta {
                request_id: self.id,
                forwarded_for: self.meta.forwarded_for,
            },
            credential: self.meta.grant.map(Credential::Grant),
            max_trust: self.meta.max_trust,
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
    let id = match object.remove("id") {
        None => None,
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
        Some(Value::String(method)) if !method.is_empty() => method,
        _ => return Err(invalid(id, "/method", "method must be a non-empty string")),
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    let meta = match object.remove("meta") {
        None | Some(Value::Null) => RequestMeta::default(),
        Some(meta) => serde_json::from_value(meta)
            .map_err(|err| invalid(id.clone(), "/meta", &format!("invalid meta: {err}")))?,
    };
    Ok(ParsedRequest {
        id,
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
    fn request_shapes() {
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            "ok"
        );
        assert_eq!(error_kind(r#"{"jsonrpc":"2.0","method":"ping"}"#), "ok");
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
        assert_eq!(
            error_kind(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","meta":{"maxTrust":"provisional"}}"#
            ),
            "ok"
        );
    }
}
