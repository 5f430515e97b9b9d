//! The bridge's calls to its daemon: the same socket, frames, gate, audit
//! and limits as `cu`'s.
//!
//! Ordinary calls share one connection, matched to their answers by id. A
//! streaming call gets a connection of its own, because closing it is how a
//! cancel reaches the daemon: the daemon sees its client go and ends the
//! stream (`Ctx::client_gone`).

use continuum_wire::{
    ErrorCode, Id, Request, RequestMeta, Response, RpcError, StreamNotification, STREAM_METHOD,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Why a call produced no result.
#[derive(Debug)]
pub enum CallError {
    /// The daemon answered with an error.
    Rpc(RpcError),
    /// The daemon could not be reached, or the connection broke.
    Unreachable(String),
    /// The MCP client cancelled the call.
    Cancelled,
}

impl CallError {
    /// The daemon's error, or one in its terms for a call it never answered.
    pub fn into_rpc(self) -> RpcError {
        match self {
            CallError::Rpc(err) => err,
            CallError::Unreachable(why) => RpcError::new(
                ErrorCode::Unavailable,
                format!("the daemon is not reachable ({why}); start it with `cu start`"),
            ),
            CallError::Cancelled => RpcError::new(ErrorCode::Unavailable, "cancelled"),
        }
    }
}

/// The daemon at one socket, called with one identity.
pub struct Daemon {
    socket: PathBuf,
    /// The identity part of every request's meta (`maxTrust`, `asPersona`).
    identity: RequestMeta,
    shared: tokio::sync::Mutex<Option<Arc<Shared>>>,
    next_id: AtomicI64,
}

impl Daemon {
    /// Calls to the socket at `socket`, each with `identity` in its meta.
    pub fn new(socket: PathBuf, identity: RequestMeta) -> Daemon {
        Daemon {
            socket,
            identity,
            shared: tokio::sync::Mutex::new(None),
            next_id: AtomicI64::new(1),
        }
    }

    /// Calls `method` and waits for its result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        forwarded_for: Option<String>,
    ) -> Result<Value, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = self.request_line(id, method, params, forwarded_for);
        // A connection that broke since the last call is replaced once.
        for attempt in 0..2 {
            let shared = self.shared().await?;
            match shared.send(id, &line).await {
                Ok(answer) => {
                    return match answer.await {
                        Ok(response) => response.into_result().map_err(CallError::Rpc),
                        Err(_) => Err(CallError::Unreachable(
                            "the daemon closed the connection".into(),
                        )),
                    }
                }
                Err(why) if attempt == 0 => {
                    tracing::debug!(%why, "daemon connection lost; reconnecting");
                    self.shared.lock().await.take();
                }
                Err(why) => return Err(CallError::Unreachable(why)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Calls a streaming `method` on a connection of its own, handing each
    /// event to `on_event` as it comes. Cancelling `cancel` closes the
    /// connection, which ends the call in the daemon.
    pub async fn call_streaming<F, Fut>(
        &self,
        method: &str,
        params: Value,
        forwarded_for: Option<String>,
        cancel: &CancellationToken,
        mut on_event: F,
    ) -> Result<Value, CallError>
    where
        F: FnMut(Value) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = self.request_line(id, method, params, forwarded_for);
        let (reader, mut writer) = self.connect().await?.into_split();
        writer
            .write_all(line.as_bytes())
            .await
            .map_err(|err| CallError::Unreachable(err.to_string()))?;
        let mut lines = BufReader::new(reader).lines();
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => return Err(CallError::Cancelled),
                next = lines.next_line() => next,
            };
            let text = match next {
                Ok(Some(text)) => text,
                Ok(None) => {
                    return Err(CallError::Unreachable(
                        "the daemon closed the connection".into(),
                    ))
                }
                Err(err) => return Err(CallError::Unreachable(err.to_string())),
            };
            let frame: Value = serde_json::from_str(&text)
                .map_err(|err| CallError::Unreachable(format!("unreadable frame: {err}")))?;
            if frame.get("method").and_then(Value::as_str) == Some(STREAM_METHOD) {
                if let Some(Ok(note)) = frame
                    .get("params")
                    .map(|params| serde_json::from_value::<StreamNotification>(params.clone()))
                {
                    on_event(note.event).await;
                }
                continue;
            }
            let response: Response = serde_json::from_value(frame)
                .map_err(|err| CallError::Unreachable(format!("unreadable response: {err}")))?;
            return response.into_result().map_err(CallError::Rpc);
        }
    }

    fn request_line(
        &self,
        id: i64,
        method: &str,
        params: Value,
        forwarded_for: Option<String>,
    ) -> String {
        let mut request = Request::new(id, method, params);
        let mut meta = self.identity.clone();
        meta.forwarded_for = forwarded_for;
        request.meta = Some(meta);
        let mut line = serde_json::to_string(&request).expect("a request always serializes");
        line.push('\n');
        line
    }

    async fn connect(&self) -> Result<UnixStream, CallError> {
        UnixStream::connect(&self.socket)
            .await
            .map_err(|err| CallError::Unreachable(err.to_string()))
    }

    /// The shared connection, made on first use and after it breaks.
    async fn shared(&self) -> Result<Arc<Shared>, CallError> {
        let mut slot = self.shared.lock().await;
        if let Some(shared) = slot.as_ref().filter(|shared| shared.is_open()) {
            return Ok(shared.clone());
        }
        let (reader, writer) = self.connect().await?.into_split();
        let shared = Arc::new(Shared {
            writer: tokio::sync::Mutex::new(writer),
            pending: Mutex::new(Pending::default()),
        });
        tokio::spawn(read_answers(reader, shared.clone()));
        *slot = Some(shared.clone());
        Ok(shared)
    }
}

/// One connection that many calls share.
struct Shared {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<Pending>,
}

/// Calls waiting for their answers. Once `closed`, no call may wait here:
/// the reader is gone, so nothing would ever answer it.
#[derive(Default)]
struct Pending {
    waiting: HashMap<i64, oneshot::Sender<Response>>,
    closed: bool,
}

impl Shared {
    fn is_open(&self) -> bool {
        !self.pending.lock().expect("pending lock").closed
    }

    /// Sends one request line; the receiver gets its answer.
    async fn send(&self, id: i64, line: &str) -> Result<oneshot::Receiver<Response>, String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().expect("pending lock");
            if pending.closed {
                return Err("connection closed".into());
            }
            pending.waiting.insert(id, tx);
        }
        let written = self.writer.lock().await.write_all(line.as_bytes()).await;
        if let Err(err) = written {
            self.pending
                .lock()
                .expect("pending lock")
                .waiting
                .remove(&id);
            return Err(err.to_string());
        }
        Ok(rx)
    }
}

/// Hands each answer on the shared connection to the call that waits for
/// it; when the connection ends, every waiting call learns so.
async fn read_answers(reader: OwnedReadHalf, shared: Arc<Shared>) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        let Ok(response) = serde_json::from_str::<Response>(&text) else {
            // `$/stream` events never come here: streaming calls have their
            // own connections.
            continue;
        };
        let Some(Id::Number(id)) = response.id else {
            continue;
        };
        let waiting = shared
            .pending
            .lock()
            .expect("pending lock")
            .waiting
            .remove(&id);
        if let Some(waiting) = waiting {
            let _ = waiting.send(response);
        }
    }
    let mut pending = shared.pending.lock().expect("pending lock");
    pending.closed = true;
    // Dropping the senders wakes every waiting call with an error.
    pending.waiting.clear();
}
