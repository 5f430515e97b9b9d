//! Accept loops. The Unix socket admits only our own uid (SO_PEERCRED); the
//! TCP listener, loopback only, admits anyone as an unauthenticated
//! Provisional caller.

use super::connection::{serve_connection, ListenerLimits};
use continuum_kernel::CallerMint;
use continuum_wire::{ErrorCode, Response, RpcError};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Binds the socket so that it is 0600 from the moment it exists.
#[allow(unsafe_code)] // umask has no safe wrapper in std or tokio.
pub fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    // SAFETY: umask only changes this process's file-creation mask.
    let previous = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the mask.
    unsafe { libc::umask(previous) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts owner connections on the Unix socket until shutdown.
pub async fn serve_unix(
    listener: UnixListener,
    mint: CallerMint,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limits: ListenerLimits,
) {
    let owner_uid = effective_uid();
    let slots = Slots::new(&limits);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (mut stream, _) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                tracing::warn!(error = %err, "accept failed on the Unix socket");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let uid = stream.peer_cred().map(|cred| cred.uid());
        if uid.as_ref().ok() != Some(&owner_uid) {
            tracing::warn!(peer_uid = ?uid.ok(), "refused a Unix-socket connection from another user");
            let refusal = RpcError::new(
                ErrorCode::Forbidden,
                "refused: this daemon serves only its owner's uid",
            )
            .with_reason("peer_uid");
            connections.spawn(async move {
                send_refusal(&mut stream, refusal).await;
                linger(&mut stream).await;
            });
            continue;
        }
        let Some((stream, slot)) = slots.take(&connections, stream) else {
            continue;
        };
        let (reader, writer) = stream.into_split();
        let served = serve_connection(
            reader,
            writer,
            mint.local_owner(),
            shutdown.clone(),
            limits.connection,
        );
        connections.spawn(slot.hold_during(served));
    }
}

/// A listener's connection budget: a connection over it gets one error line
/// and is closed, so a flood on one listener never starves the others.
pub(super) struct Slots {
    free: Arc<Semaphore>,
    max: usize,
    /// Refusals lingering at once (each holds a descriptor for a moment);
    /// beyond, a refused connection is closed at once.
    refusing: Arc<Semaphore>,
}

/// Refused connections kept open at once so their clients can read why.
const MAX_LINGERING_REFUSALS: usize = 32;

/// One of a listener's connection slots, held while its connection is served.
pub(super) struct Slot(OwnedSemaphorePermit);

impl Slot {
    /// Runs `served`, freeing the slot when it ends.
    pub(super) async fn hold_during(self, served: impl Future<Output = ()>) {
        served.await;
        drop(self.0);
    }
}

impl Slots {
    pub(super) fn new(limits: &ListenerLimits) -> Slots {
        Slots {
            free: Arc::new(Semaphore::new(limits.max_connections)),
            max: limits.max_connections,
            refusing: Arc::new(Semaphore::new(MAX_LINGERING_REFUSALS)),
        }
    }

    /// A slot for `stream`, or `None` after refusing it.
    pub(super) fn take<S>(&self, connections: &TaskTracker, mut stream: S) -> Option<(S, Slot)>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match Arc::clone(&self.free).try_acquire_owned() {
            Ok(permit) => Some((stream, Slot(permit))),
            Err(_) => {
                let refusal = RpcError::new(
                    ErrorCode::Overloaded,
                    format!(
                        "refused: this listener serves at most {} connections at once; try again later",
                        self.max
                    ),
                )
                .with_reason("connection_limit");
                // Under a flood, refusals must not pile up descriptors: only
                // a few linger; the rest are closed at once.
                if let Ok(lingering) = Arc::clone(&self.refusing).try_acquire_owned() {
                    connections.spawn(async move {
                        send_refusal(&mut stream, refusal).await;
                        linger(&mut stream).await;
                        drop(lingering);
                    });
                }
                None
            }
        }
    }
}

#[allow(unsafe_code)] // geteuid has no safe wrapper in std.
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Binds the TCP listener. Loopback only: TCP callers are unauthenticated,
/// and remote nodes come through the grid transport, which authenticates
/// and encrypts.
pub async fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "refusing to listen on {addr}: the TCP listener serves unauthenticated callers and binds only to loopback (127.0.0.1 or ::1); remote nodes connect through the grid transport"
            ),
        ));
    }
    TcpListener::bind(addr).await
}

/// How long a refused connection is kept open for its client's first write.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Closes our side, then discards what the client still sends for a moment
/// (bounded in time and bytes). Closing at once would make a client that
/// writes its request before reading fail with a broken pipe instead of
/// reading the refusal.
pub(super) async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut left = 64 * 1024usize;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, drain).await;
}

/// Answers a connection that will not be served with one error frame; the
/// caller then drops it.
pub(super) async fn send_refusal<W: AsyncWrite + Unpin>(writer: &mut W, error: RpcError) {
    if let Ok(mut bytes) = serde_json::to_vec(&Response::err(None, error)) {
        bytes.push(b'\n');
        let _ = writer.write_all(&bytes).await;
    }
}

/// Next TCP connection, or `None` once shutdown begins. Accept errors (e.g.
/// out of file descriptors) are logged and retried after a short pause.
pub(super) async fn accept_tcp(
    listener: &TcpListener,
    shutdown: &CancellationToken,
    what: &str,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                return Some((stream, remote));
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed on the {what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Accepts TCP connections until shutdown. Their callers are remote and
/// unauthenticated: Provisional, never the owner.
pub async fn serve_tcp(
    listener: TcpListener,
    mint: CallerMint,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limits: ListenerLimits,
) {
    let slots = Slots::new(&limits);
    while let Some((stream, remote)) = accept_tcp(&listener, &shutdown, "TCP listener").await {
        let Some((stream, slot)) = slots.take(&connections, stream) else {
            continue;
        };
        let (reader, writer) = stream.into_split();
        let served = serve_connection(
            reader,
            writer,
            mint.tcp(remote),
            shutdown.clone(),
            limits.connection,
        );
        connections.spawn(slot.hold_during(served));
    }
}
