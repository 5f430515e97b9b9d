//! One client connection: many requests in flight, answered as they finish.

use super::frame::{Frame, FrameReader};
use crate::command::{CallMeta, StreamSink};
use crate::dispatch::{Call, Dispatcher};
use crate::gate::Caller;
use continuum_wire::{ErrorCode, Id, RequestMeta, Response, RpcError, JSONRPC_VERSION};
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

/// Serves one connection until the client closes it or shutdown begins, then
/// finishes the requests already read and flushes their answers.
pub async fn serve_connection<R, W>(
    reader: R,
    writer: W,
    caller: Caller,
    dispatcher: Arc<Dispatcher>,
    shutdown: CancellationToken,
    limits: ConnectionLimits,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (frames, outgoing) = mpsc::channel::<Vec<u8>>(1024);
    let writer = tokio::spawn(write_frames(writer, outgoing));
    let caller = Arc::new(caller);
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
        let request = match parse_request(&line) {
            Ok(request) => request,
            Err(response) => {
                send(&frames, &response).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let dispatcher = Arc::clone(&dispatcher);
        let caller = Arc::clone(&caller);
        let frames = frames.clone();
        requests.spawn(async move {
            let stream = request
                .id
                .clone()
                .map(|id| StreamSink::new(id, frames.clone()));
            let call = Call {
                caller,
                method: request.method,
                params: request.params,
                meta: Arc::new(CallMeta {
                    request_id: request.id.clone(),
                    forwarded_for: request.meta.forwarded_for,
                }),
                stream,
            };
            let grant = request.meta.grant;
            let call = attach_grant(call, grant);
            let result = dispatcher.dispatch(call).await;
            if let Some(id) = request.id {
                let response = match result {
                    Ok(value) => Response::ok(Some(id), value),
                    Err(err) => Response::err(Some(id), err.into()),
                };
                send(&frames, &response).await;
            }
            drop(permit);
        });
    }
    requests.close();
    requests.wait().await;
    drop(frames);
    let _ = writer.await;
}

/// A grant presented in `meta.grant` only means something for a peer whose
/// key the transport authenticated; for any other caller it is ignored.
fn attach_grant(mut call: Call, grant: Option<String>) -> Call {
    if let (Some(grant), Caller::Peer(peer)) = (grant, call.caller.as_ref()) {
        let mut peer = peer.clone();
        peer.grant = Some(grant);
        call.caller = Arc::new(Caller::Peer(peer));
    }
    call
}

async fn send(frames: &mpsc::Sender<Vec<u8>>, response: &Response) {
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

/// Checks one frame is a JSON-RPC 2.0 request, or builds the error answer.
fn parse_request(line: &[u8]) -> Result<ParsedRequest, Response> {
    let value: Value = serde_json::from_slice(line).map_err(|err| {
        Response::err(
            None,
            RpcError::new(ErrorCode::ParseError, format!("malformed JSON: {err}")),
        )
    })?;
    let Value::Object(mut object) = value else {
        let message = if value.is_array() {
            "batch requests are not supported; send one request per line"
        } else {
            "a request must be a JSON object"
        };
        return Err(Response::err(
            None,
            RpcError::new(ErrorCode::InvalidRequest, message),
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
    let params = match object.remove("params") {
        None | Some(Value::Null) => Value::Null,
        Some(params @ Value::Object(_)) => params,
        Some(_) => {
            let error = RpcError::new(
                ErrorCode::InvalidParams,
                "params must be a JSON object (named params)",
            )
            .with_field("")
            .with_reason("positional params are not supported");
            return Err(Response::err(id, error));
        }
    };
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
        match parse_request(line.as_bytes()) {
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
        assert_eq!(error_kind(r#"[1,2]"#), "invalid_request");
        assert_eq!(
            error_kind(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            "invalid_request"
        );
        assert_eq!(error_kind(r#"{"jsonrpc":"2.0","id":1}"#), "invalid_request");
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            "invalid_request"
        );
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#),
            "invalid_params"
        );
        assert_eq!(
            error_kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping","meta":{"bogus":1}}"#),
            "invalid_request"
        );
    }
}
