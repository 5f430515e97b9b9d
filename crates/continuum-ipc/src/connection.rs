//! One client connection: many requests in flight, answered as they finish.
//! JSON-RPC 2.0 batches are answered with one array holding the responses to
//! the batch's calls (none for notifications; nothing at all for a batch of
//! notifications).

use super::frame::{Frame, FrameReader};
use continuum_kernel::command::{CallMeta, StreamSink};
use continuum_kernel::credential::Credential;
use continuum_kernel::{Request, Session};
use continuum_wire::{ErrorCode, Id, RequestMeta, Response, RpcError, JSONRPC_VERSION};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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

/// Serves one connection until the client closes it or shutdown begins, then
/// finishes the requests already read and flushes their answers. Every call
/// runs as `session`'s caller.
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
    let (frames, outgoing) = mpsc::channel::<Vec<u8>>(1024);
    let writer = tokio::spawn(write_frames(writer, outgoing));
    let session = Arc::new(session);
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let requests = TaskTracker::new();
    let mut reader = FrameReader::new(
        BufReader::with_capacity(64 * 1024, reader),
        limits.max_frame_bytes,
    );
    loop {
        let frame = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            frame = reader.next() => frame,
        };
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
                send(&frames, &Response::err(None, error)).await;
                continue;
            }
            Ok(None) => break,
            Err(err) => {
                tracing::debug!(error = %err, "connection read failed");
                break;
            }
        };
        let message = match serde_json::from_slice::<Value>(&line) {
            Ok(message) => message,
            Err(err) => {
                let error = RpcError::new(ErrorCode::ParseError, format!("malformed JSON: {err}"));
                send(&frames, &Response::err(None, error)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let session = Arc::clone(&session);
        let frames = frames.clone();
        requests.spawn(async move {
            match message {
                Value::Array(batch) => serve_batch(&session, batch, &frames).await,
                single => {
                    if let Some(response) = serve_one(&session, single, &frames).await {
                        send(&frames, &response).await;
                    }
                }
            }
            drop(permit);
        });
    }
    requests.close();
    requests.wait().await;
    drop(frames);
    let _ = writer.await;
}

/// Answers one request, or `None` for a notification.
async fn serve_one(
    session: &Session,
    message: Value,
    frames: &mpsc::Sender<Vec<u8>>,
) -> Option<Response> {
    let request = match parse_request(message) {
        Ok(request) => request,
        Err(response) => return Some(response),
    };
    let id = request.id.clone();
    let result = session.call(request.into_call(frames)).await;
    let id = id?;
    Some(match result {
        Ok(value) => Response::ok(Some(id), value),
        Err(err) => Response::err(Some(id), err.into()),
    })
}

/// Answers a batch per JSON-RPC 2.0: an empty batch is one invalid-request
/// error; otherwise one array with a response per call (notifications get
/// none), or nothing when every member was a notification.
async fn serve_batch(session: &Session, batch: Vec<Value>, frames: &mpsc::Sender<Vec<u8>>) {
    if batch.is_empty() {
        let error = RpcError::new(ErrorCode::InvalidRequest, "an empty batch is not a request");
        send(frames, &Response::err(None, error)).await;
        return;
    }
    let responses: Vec<Response> = futures_util::stream::iter(batch)
        .map(|message| serve_one(session, message, frames))
        .buffered(BATCH_CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    if !responses.is_empty() {
        send(frames, &responses).await;
    }
}

async fn send(frames: &mpsc::Sender<Vec<u8>>, response: &impl Serialize) {
    let mut bytes = match serde_json::to_vec(response) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "response did not serialize");
            return;
        }
    };
    bytes.push(b'\n');
    let _ = frames.send(bytes).await;
}

async fn write_frames<W: AsyncWrite + Unpin>(writer: W, mut outgoing: mpsc::Receiver<Vec<u8>>) {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(frame) = outgoing.recv().await {
        if writer.write_all(&frame).await.is_err() {
            return;
        }
        // Coalesce whatever else is ready into the same flush.
        while let Ok(frame) = outgoing.try_recv() {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
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
