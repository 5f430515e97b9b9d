//! Accept loops. The Unix socket admits only our own uid (SO_PEERCRED); the
//! TCP listener admits anyone, as an unauthenticated Provisional caller.

use super::connection::{serve_connection, ConnectionLimits};
use crate::dispatch::Dispatcher;
use crate::gate::Caller;
use continuum_wire::{ErrorCode, Response, RpcError};
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Binds the socket so that it is 0600 from the moment it exists.
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
    dispatcher: Arc<Dispatcher>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limits: ConnectionLimits,
) {
    // SAFETY: geteuid has no preconditions.
    let owner_uid = unsafe { libc::geteuid() };
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
            connections.spawn(async move { send_refusal(&mut stream, refusal).await });
            continue;
        }
        let (reader, writer) = stream.into_split();
        connections.spawn(serve_connection(
            reader,
            writer,
            Caller::LocalOwner,
            Arc::clone(&dispatcher),
            shutdown.clone(),
            limits,
        ));
    }
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
    dispatcher: Arc<Dispatcher>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limits: ConnectionLimits,
) {
    while let Some((stream, remote)) = accept_tcp(&listener, &shutdown, "TCP listener").await {
        let (reader, writer) = stream.into_split();
        connections.spawn(serve_connection(
            reader,
            writer,
            Caller::Tcp { remote },
            Arc::clone(&dispatcher),
            shutdown.clone(),
            limits,
        ));
    }
}
