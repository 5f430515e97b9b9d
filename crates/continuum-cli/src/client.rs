//! A blocking JSON-RPC client over the daemon's Unix socket.

use continuum_wire::{
    Id, Request, RequestMeta, Response, RpcError, StreamNotification, Trust, STREAM_METHOD,
};
use serde_json::{json, Value};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting client checks that the daemon still answers.
const LIVENESS_INTERVAL: Duration = Duration::from_secs(2);

/// Why a call did not produce a result.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing is listening (no socket, or connection refused).
    NotRunning(io::Error),
    /// The socket exists but this user may not use it (another user's daemon).
    Refused(io::Error),
    /// The daemon is there but does not answer (stopped, hung).
    Unresponsive(Duration),
    /// The connection broke or sent garbage.
    Io(io::Error),
    /// The daemon answered with an error.
    Rpc(RpcError),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning(err) => write!(f, "the daemon is not running ({err})"),
            ClientError::Refused(err) => write!(
                f,
                "refused: the daemon's socket belongs to another user ({err})"
            ),
            ClientError::Unresponsive(after) => write!(
                f,
                "the daemon did not answer within {} s (is it stopped or hung?)",
                after.as_secs()
            ),
            ClientError::Io(err) => write!(f, "connection to the daemon failed: {err}"),
            ClientError::Rpc(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One connection to the daemon.
///
/// A call waits as long as the daemon keeps answering: every
/// [`LIVENESS_INTERVAL`] without an answer, the client pings the daemon on a
/// second connection, and gives up only if that ping goes unanswered too. A
/// client with a *patience* (lifecycle probes) gives up after it instead.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    socket: PathBuf,
    next_id: i64,
    line: Vec<u8>,
    meta: Option<RequestMeta>,
    patience: Option<Duration>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(err)
            }
            io::ErrorKind::PermissionDenied => ClientError::Refused(err),
            _ => ClientError::Io(err),
        })?;
        stream
            .set_read_timeout(Some(LIVENESS_INTERVAL))
            .map_err(ClientError::Io)?;
        stream
            .set_write_timeout(Some(LIVENESS_INTERVAL * 5))
            .map_err(ClientError::Io)?;
        let writer = stream.try_clone().map_err(ClientError::Io)?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
            socket: path.to_owned(),
            next_id: 1,
            line: Vec::new(),
            meta: None,
            patience: None,
        })
    }

    /// Gives up on any answer after `patience` instead of waiting while the
    /// daemon stays alive (for quick lifecycle probes).
    pub fn set_patience(&mut self, patience: Duration) {
        self.patience = Some(patience);
        let _ = self
            .reader
            .get_ref()
            .set_read_timeout(Some(patience.min(LIVENESS_INTERVAL)));
    }

    /// Whether the daemon answers a ping on a fresh connection in time.
    fn daemon_answers(&self) -> bool {
        Client::connect(&self.socket)
            .and_then(|mut probe| {
                probe.set_patience(LIVENESS_INTERVAL);
                probe.call("ping", json!({}))
            })
            .is_ok()
    }

    /// The next line from the daemon (without its newline), waiting as
    /// described on [`Client`].
    fn next_line(&mut self) -> Result<(), ClientError> {
        self.line.clear();
        let began = Instant::now();
        loop {
            match self.reader.read_until(b'\n', &mut self.line) {
                // End of stream, with nothing read or halfway through a line.
                Ok(0) => {
                    return Err(ClientError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the daemon closed the connection before answering",
                    )))
                }
                Ok(_) if self.line.ends_with(b"\n") => return Ok(()),
                Ok(_) => continue,
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // What was read so far stays in `line`.
                    let waited = began.elapsed();
                    match self.patience {
                        Some(patience) if waited >= patience => {
                            return Err(ClientError::Unresponsive(waited))
                        }
                        Some(_) => continue,
                        None if self.daemon_answers() => continue,
                        None => return Err(ClientError::Unresponsive(waited)),
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(ClientError::Io(err)),
            }
        }
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
        self.writer
            .write_all(&bytes)
            .map_err(|err| match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    ClientError::Unresponsive(LIVENESS_INTERVAL * 5)
                }
                _ => ClientError::Io(err),
            })?;
        loop {
            self.next_line()?;
            let frame: Value =
                serde_json::from_slice(&self.line).map_err(|err| ClientError::Io(err.into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;

    /// A daemon that dies halfway through an answer: the client reports a
    /// broken connection at once instead of spinning on end-of-file.
    #[test]
    fn a_connection_that_ends_mid_answer_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request).unwrap();
            stream
                .write_all(br#"{"jsonrpc":"2.0","id":1,"res"#)
                .unwrap();
        });
        let mut client = Client::connect(&path).unwrap();
        let started = Instant::now();
        let err = client.call("ping", Value::Null).unwrap_err();
        assert!(matches!(err, ClientError::Io(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        server.join().unwrap();
    }
}
