//! The peer listener: TCP on loopback, where each connection first proves its
//! ed25519 key (see `continuum_wire::peer`) and then calls as a
//! peer caller whose key is the one it proved. Grants it presents in
//! `meta.grant` are checked against that key, never against anything it
//! claims later.
//!
//! It stands in for the encrypted grid transport: it authenticates but does
//! not encrypt, so [`bind_peer`] refuses anything but a loopback address.

use super::connection::{serve_connection, ListenerLimits};
use super::listeners::{accept_tcp, send_refusal, Slots};
use continuum_grid::NodeIdentity;
use continuum_kernel::CallerMint;
use continuum_wire::peer::{
    check_peer_id, proof_message, Accepted, Challenge, Proof, HANDSHAKE_PROTOCOL,
};
use continuum_wire::{ErrorCode, RpcError};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::{OsRng, RngCore};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A peer that has not proved its key within this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest proof line accepted.
const MAX_PROOF_BYTES: u64 = 1024;

/// Binds the peer listener; only loopback addresses are allowed.
pub async fn bind_peer(addr: SocketAddr) -> io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the peer listener authenticates but does not encrypt; it binds only to loopback, not {addr}"
            ),
        ));
    }
    TcpListener::bind(addr).await
}

/// Accepts peers until shutdown.
pub async fn serve_peers(
    listener: TcpListener,
    identity: Arc<NodeIdentity>,
    mint: CallerMint,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limits: ListenerLimits,
) {
    let slots = Slots::new(&limits);
    while let Some((stream, remote)) = accept_tcp(&listener, &shutdown, "peer listener").await {
        let Some((stream, slot)) = slots.take(&connections, stream) else {
            continue;
        };
        let identity = Arc::clone(&identity);
        let mint = mint.clone();
        let shutdown = shutdown.clone();
        let limits = limits.connection;
        let (reader, mut writer) = stream.into_split();
        let served = async move {
            let mut reader = BufReader::new(reader);
            let handshake = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                handshake(&mut reader, &mut writer, &identity),
            )
            .await
            .unwrap_or_else(|_| Err(refusal("handshake timed out")));
            match handshake {
                Ok(ProvenPeer { peer_id, key }) => {
                    tracing::info!(peer = %peer_id, %remote, key = %hex::encode(key), "peer authenticated");
                    // Provisional until a peer registry says otherwise.
                    serve_connection(
                        reader,
                        writer,
                        mint.peer(peer_id, key, None),
                        shutdown,
                        limits,
                    )
                    .await;
                }
                Err(error) => {
                    tracing::warn!(%remote, reason = %error.message, "peer handshake refused");
                    send_refusal(&mut writer, error).await;
                }
            }
        };
        connections.spawn(slot.hold_during(served));
    }
}

fn refusal(message: impl Into<String>) -> RpcError {
    RpcError::new(ErrorCode::Forbidden, message).with_reason("handshake")
}

/// A peer id and the key its handshake proved.
struct ProvenPeer {
    peer_id: String,
    key: [u8; 32],
}

/// Runs the daemon's side of the handshake.
async fn handshake<R, W>(
    reader: &mut R,
    writer: &mut W,
    identity: &NodeIdentity,
) -> Result<ProvenPeer, RpcError>
where
    R: AsyncRead + AsyncBufReadExt + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut challenge = [0u8; 32];
    OsRng.fill_bytes(&mut challenge);
    let node_key = identity.public_key();
    write_line(
        writer,
        &Challenge {
            handshake: HANDSHAKE_PROTOCOL.to_owned(),
            node_id: identity.node_id().to_owned(),
            node_key: hex::encode(node_key),
            challenge: hex::encode(challenge),
        },
    )
    .await
    .map_err(|err| refusal(format!("could not send the challenge: {err}")))?;

    let mut line = Vec::new();
    reader
        .take(MAX_PROOF_BYTES)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|err| refusal(format!("could not read the proof: {err}")))?;
    if !line.ends_with(b"\n") {
        return Err(refusal("the proof must be one JSON line under 1 KiB"));
    }
    let proof: Proof = serde_json::from_slice(&line).map_err(|err| {
        RpcError::new(
            ErrorCode::InvalidParams,
            format!("bad handshake proof: {err}"),
        )
        .with_reason("handshake")
    })?;
    let field = |name: &str, reason: String| {
        RpcError::new(ErrorCode::InvalidParams, reason)
            .with_field(format!("/{name}"))
            .with_reason("handshake")
    };
    check_peer_id(&proof.peer_id).map_err(|reason| field("peerId", reason.to_owned()))?;
    let key: [u8; 32] = decode_hex(&proof.key)
        .ok_or_else(|| field("key", "key must be 64 hex characters".into()))?;
    let signature: [u8; 64] = decode_hex(&proof.signature)
        .ok_or_else(|| field("signature", "signature must be 128 hex characters".into()))?;
    let verifying = VerifyingKey::from_bytes(&key)
        .map_err(|_| field("key", "key is not a valid ed25519 point".into()))?;
    verifying
        .verify_strict(
            &proof_message(&challenge, &node_key, &proof.peer_id),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| refusal("the handshake signature does not verify under the presented key"))?;
    write_line(
        writer,
        &Accepted {
            ok: true,
            peer_id: proof.peer_id.clone(),
        },
    )
    .await
    .map_err(|err| refusal(format!("could not answer the handshake: {err}")))?;
    Ok(ProvenPeer {
        peer_id: proof.peer_id,
        key,
    })
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    hex::decode(text).ok()?.try_into().ok()
}

async fn write_line<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &impl serde::Serialize,
) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(message)?;
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}
