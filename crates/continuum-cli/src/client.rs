//! A blocking JSON-RPC client over the daemon's Unix socket.

use continuum_wire::{
    Id, Request, RequestMeta, Response, RpcError, StreamNotification, Trust, STREAM_METHOD,
};
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Why a call did not produce a result.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing is listening (no socket, or connection refused).
    NotRunning(io::Error),
    /// The connection broke or sent garbage.
    Io(io::Error),
    /// The daemon answered with an error.
    Rpc(RpcError),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning(err) => write!(f, "the daemon is not running ({err})"),
            ClientError::Io(err) => write!(f, "connection to the daemon failed: {err}"),
            ClientError::Rpc(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One connection to the daemon.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: i64,
    line: String,
    meta: Option<RequestMeta>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(err)
            }
            _ => ClientError::Io(err),
        })?;
        let writer = stream.try_clone().map_err(ClientError::Io)?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            line: String::new(),
            meta: None,
        })
    }

    /// Makes every later request carry `meta.maxTrust = max`: the daemon
    /// then treats this client as no more trusted than `max` (it can only
    /// lower trust, never raise it).
    pub fn limit_trust(&mut self, max: Trust) {
        self.meta.get_or_insert_with(RequestMeta::default).max_trust = Some(max);
    }

    /// Calls `method` and waits for its result.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.call_streaming(method, params, None, |_| {})
    }

    /// Calls `method`, handing each `$/stream` event for it to `on_event`
    /// until the result arrives.
    pub fn call_streaming(
        &mut self,
        method: &str,
        params: Value,
        meta: Option<RequestMeta>,
        mut on_event: impl FnMut(Value),
    ) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = Request::new(id, method, params);
        request.meta = meta.or_else(|| self.meta.clone());
        let mut bytes = serde_json::to_vec(&request).map_err(|err| ClientError::Io(err.into()))?;
        bytes.push(b'\n');
        self.writer.write_all(&bytes).map_err(ClientError::Io)?;
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_line(&mut self.line)
                .map_err(ClientError::Io)?;
            if n == 0 {
                return Err(ClientError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the daemon closed the connection before answering",
                )));
            }
            let frame: Value =
                serde_json::from_str(&self.line).map_err(|err| ClientError::Io(err.into()))?;
            if frame.get("method").and_then(Value::as_str) == Some(STREAM_METHOD) {
                if let Some(Ok(note)) = frame
                    .get("params")
                    .cloned()
                    .map(serde_json::from_value::<StreamNotification>)
                {
                    if note.request_id == Id::Number(id) {
                        on_event(note.event);
                    }
                }
                continue;
            }
            let response: Response =
                serde_json::from_value(frame).map_err(|err| ClientError::Io(err.into()))?;
            if response.id.is_some() && response.id != Some(Id::Number(id)) {
                continue;
            }
            return response.into_result().map_err(ClientError::Rpc);
        }
    }
}
