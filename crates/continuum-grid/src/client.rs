//! [`PeerLink`]: this node's connection to one peer (ADR 0015, Decision 2,
//! dialer side). TCP, then TLS 1.3 pinned to the peer's key, then the
//! listener's `$/grid/hello`, then ADR 0001 JSON-RPC lines, many calls in
//! flight matched by id.
//!
//! One task owns the connection: it writes requests from a channel and
//! reads answers into a pending map `id -> oneshot`. A call already written
//! is never retried: if the link dies, its caller gets [`LinkError::Closed`].

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use continuum_wire::{Id, Request, RequestMeta, Response, DEFAULT_MAX_FRAME_BYTES};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::tls::{self, TlsSetupError, GRID_ALPN};
use crate::NodeIdentity;

/// Method of the listener's first line on `continuum-grid/1`.
pub const HELLO_METHOD: &str = "$/grid/hello";
/// How long a dialer waits for TCP, for TLS, and then for the hello.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests in flight on one link.
pub const MAX_IN_FLIGHT: usize = 32;

/// Where a peer is and which key it must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTarget {
    /// `host:port`.
    pub address: String,
    /// The peer's ed25519 key the handshake is pinned to.
    pub key: [u8; 32],
    /// That key's rotation generation (sent as SNI).
    pub generation: u32,
}

/// The listener's `$/grid/hello` params.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Hello {
    /// The listener's node id, as it claims it (the key is what was proven).
    pub node_id: String,
    /// The generation of the key it presented.
    pub generation: u32,
    /// Its clock, Unix ms: lets the dialer log skew that would fail grants.
    pub time_ms: u64,
    /// Rotation statements, when it presented a previous key.
    #[serde(default)]
    pub rotations: Vec<String>,
}

/// Why a link could not be made or a call could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Setup(#[from] TlsSetupError),
    /// TCP connect failed.
    #[error("cannot reach peer at {address}: {source}")]
    Connect {
        /// The address dialled.
        address: String,
        /// The error.
        source: io::Error,
    },
    /// Connecting, the handshake or the hello took longer than
    /// [`CONNECT_TIMEOUT`].
    #[error("peer at {address} did not complete the handshake in time")]
    Timeout {
        /// The address dialled.
        address: String,
    },
    /// The peer did not prove the key we pinned (or any acceptable key).
    #[error("peer at {address} did not prove the expected key")]
    PeerUnauthorized {
        /// The address dialled.
        address: String,
    },
    /// The peer refused our key (alert `access_denied`): we are not
    /// registered there, or are blocked.
    #[error("peer at {address} refused this node's key")]
    Refused {
        /// The address dialled.
        address: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake with {address} failed: {source}")]
    Handshake {
        /// The address dialled.
        address: String,
        /// The error.
        source: io::Error,
    },
    /// The peer did not choose `continuum-grid/1`.
    #[error("peer at {address} did not agree on the grid protocol")]
    Alpn {
        /// The address dialled.
        address: String,
    },
    /// The first line was not a valid `$/grid/hello`.
    #[error("peer at {address} sent no valid hello: {reason}")]
    Hello {
        /// The address dialled.
        address: String,
        /// What was wrong.
        reason: String,
    },
    /// The link is closed; a call in flight may or may not have run.
    #[error("the link to the peer is closed")]
    Closed,
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[from] serde_json::Error),
}

type Pending = Arc<Mutex<Option<HashMap<Id, oneshot::Sender<Response>>>>>;

/// A connection to one peer, shared by many concurrent calls.
#[derive(Debug)]
pub struct PeerLink {
    hello: Hello,
    writer: mpsc::Sender<Vec<u8>>,
    /// `None` once the link is dead, so no call waits forever.
    pending: Pending,
    permits: Semaphore,
    next_id: AtomicI64,
    reader: JoinHandle<()>,
    writer_task: JoinHandle<()>,
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer_task.abort();
    }
}

fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

impl PeerLink {
    /// Dials `target` as `identity`, pins its key, and waits for its hello.
    pub async fn connect(
        identity: Arc<NodeIdentity>,
        target: &PeerTarget,
    ) -> Result<PeerLink, LinkError> {
        let address = target.address.clone();
        let timeout = || LinkError::Timeout {
            address: address.clone(),
        };
        let config = tls::client_config(identity, target.key, GRID_ALPN)?;
        let server_name = tls::server_name(target.generation)?;

        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address))
            .await
            .map_err(|_| timeout())?
            .map_err(|source| LinkError::Connect {
                address: address.clone(),
                source,
            })?;
        // Calls are small lines; do not wait to coalesce them.
        let _ = tcp.set_nodelay(true);

        let connector = TlsConnector::from(Arc::new(config));
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(server_name, tcp))
            .await
            .map_err(|_| timeout())?
            .map_err(|source| match rustls_error(&source) {
                Some(rustls::Error::InvalidCertificate(_)) => LinkError::PeerUnauthorized {
                    address: address.clone(),
                },
                Some(rustls::Error::AlertReceived(rustls::AlertDescription::AccessDenied)) => {
                    LinkError::Refused {
                        address: address.clone(),
                    }
                }
                _ => LinkError::Handshake {
                    address: address.clone(),
                    source,
                },
            })?;
        if tls.get_ref().1.alpn_protocol() != Some(GRID_ALPN) {
            return Err(LinkError::Alpn { address });
        }

        let (read, mut write) = tokio::io::split(tls);
        let mut read = BufReader::new(read);
        // In TLS 1.3 the listener checks our key after we finish: a refusal
        // arrives as an alert while we read the hello.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, read_line(&mut read))
            .await
            .map_err(|_| timeout())?
            .map_err(|source| match rustls_error(&source) {
                Some(rustls::Error::AlertReceived(rustls::AlertDescription::AccessDenied)) => {
                    LinkError::Refused {
                        address: address.clone(),
                    }
                }
                _ => LinkError::Hello {
                    address: address.clone(),
                    reason: source.to_string(),
                },
            })?
            .ok_or_else(|| LinkError::Hello {
                address: address.clone(),
                reason: "the connection closed".into(),
            })?;
        let hello = parse_hello(&first).map_err(|reason| LinkError::Hello {
            address: address.clone(),
            reason,
        })?;

        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (writer, mut lines) = mpsc::channel::<Vec<u8>>(MAX_IN_FLIGHT);
        let written = pending.clone();
        let writer_task = tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if write.write_all(&line).await.is_err() || write.flush().await.is_err() {
                    // The pipe is broken: fail every waiting call now
                    // rather than when the reader notices.
                    if let Ok(mut pending) = written.lock() {
                        pending.take();
                    }
                    break;
                }
            }
            let _ = write.shutdown().await;
        });
        let reader = tokio::spawn(read_answers(read, pending.clone()));

        Ok(PeerLink {
            hello,
            writer,
            pending,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            next_id: AtomicI64::new(1),
            reader,
            writer_task,
        })
    }

    /// What the peer said when the link came up.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Calls `method` on the peer and waits for its answer. The link picks
    /// the request id; `meta` carries a grant or `forwardedFor`.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        meta: Option<RequestMeta>,
    ) -> Result<Response, LinkError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| LinkError::Closed)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut request = Request::new(id, method, params);
        request.meta = meta;
        let mut line = serde_json::to_vec(&request)?;
        line.push(b'\n');

        let (answer, answered) = oneshot::channel();
        {
            let mut pending = self.pending.lock().map_err(|_| LinkError::Closed)?;
            pending
                .as_mut()
                .ok_or(LinkError::Closed)?
                .insert(Id::Number(id), answer);
        }
        if self.writer.send(line).await.is_err() {
            if let Ok(mut pending) = self.pending.lock() {
                if let Some(map) = pending.as_mut() {
                    map.remove(&Id::Number(id));
                }
            }
            return Err(LinkError::Closed);
        }
        answered.await.map_err(|_| LinkError::Closed)
    }

    /// Whether the link has died (the peer closed it, or it broke).
    pub fn is_closed(&self) -> bool {
        self.pending.lock().map(|p| p.is_none()).unwrap_or(true)
    }
}

/// One line, without its `\n`, at most [`DEFAULT_MAX_FRAME_BYTES`];
/// `None` at end of input.
async fn read_line<R: AsyncRead + Unpin>(read: &mut BufReader<R>) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let limit = u64::try_from(DEFAULT_MAX_FRAME_BYTES).unwrap_or(u64::MAX) + 1;
    let n = read.take(limit).read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "line over the frame limit, or cut short",
        ));
    }
    line.pop();
    Ok(Some(line))
}

fn parse_hello(line: &[u8]) -> Result<Hello, String> {
    #[derive(Deserialize)]
    struct Notification {
        method: String,
        #[serde(default)]
        id: Option<Value>,
        params: Hello,
    }
    let note: Notification = serde_json::from_slice(line).map_err(|err| err.to_string())?;
    if note.method != HELLO_METHOD || note.id.is_some() {
        return Err(format!("expected a {HELLO_METHOD} notification"));
    }
    Ok(note.params)
}

/// Reads answers until the link ends, then fails every call still waiting.
async fn read_answers<R: AsyncRead + Unpin>(mut read: BufReader<R>, pending: Pending) {
    loop {
        let line = match read_line(&mut read).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                tracing::debug!(error = %err, "grid link: read failed");
                break;
            }
        };
        let value: Value = match serde_json::from_slice(&line) {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(error = %err, "grid link: a line that is not JSON; closing");
                break;
            }
        };
        if value.get("method").is_some() {
            // `$/stream` events go to a streaming call's own connection
            // (not built yet); other notifications mean nothing here.
            tracing::debug!("grid link: ignored a notification");
            continue;
        }
        let response: Response = match serde_json::from_value(value) {
            Ok(response) => response,
            Err(err) => {
                tracing::warn!(error = %err, "grid link: a line that is not a response; closing");
                break;
            }
        };
        let Some(id) = response.id.clone() else {
            tracing::warn!("grid link: a response without an id");
            continue;
        };
        let waiter = match pending.lock() {
            Ok(mut pending) => pending.as_mut().and_then(|map| map.remove(&id)),
            Err(_) => break,
        };
        match waiter {
            // The caller may have gone; its answer is dropped.
            Some(waiter) => drop(waiter.send(response)),
            None => tracing::warn!(?id, "grid link: an answer nobody asked for"),
        }
    }
    // Dropping the senders wakes every waiting call with `Closed`.
    if let Ok(mut pending) = pending.lock() {
        pending.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_must_be_the_hello_notification() {
        let hello = parse_hello(
            br#"{"jsonrpc":"2.0","method":"$/grid/hello","params":{"nodeId":"node-a","generation":1,"timeMs":5}}"#,
        )
        .unwrap();
        assert_eq!(hello.node_id, "node-a");
        assert_eq!(hello.generation, 1);
        assert!(hello.rotations.is_empty());
        assert!(parse_hello(br#"{"jsonrpc":"2.0","id":1,"method":"$/grid/hello","params":{"nodeId":"a","generation":0,"timeMs":5}}"#).is_err());
        assert!(parse_hello(br#"{"jsonrpc":"2.0","method":"ping","params":{}}"#).is_err());
        assert!(parse_hello(b"not json").is_err());
    }
}
