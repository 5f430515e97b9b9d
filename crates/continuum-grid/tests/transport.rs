//! The grid transport in-process on loopback (ADR 0015, step 3): a real
//! rustls listener built from `continuum_grid::tls`, a tiny line server
//! behind it (the daemon's `serve_connection` takes its place in step 4),
//! and `PeerLink` dialing it.

use std::sync::Arc;
use std::time::Duration;

use continuum_grid::client::{LinkError, PeerLink, PeerTarget, HELLO_METHOD};
use continuum_grid::tls::{self, GRID_ALPN};
use continuum_grid::{NodeIdentity, Peers};
use continuum_store::{InMemoryPeers, PeerRecord};
use continuum_wire::{Id, Request, RequestMeta, Response, Trust};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

struct Node {
    _dir: tempfile::TempDir,
    identity: Arc<NodeIdentity>,
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(NodeIdentity::load_or_create(dir.path()).unwrap());
    Node {
        _dir: dir,
        identity,
    }
}

fn record(node: &Node, name: &str, trust: Trust) -> PeerRecord {
    PeerRecord {
        id: node.identity.node_id().to_owned(),
        name: name.to_owned(),
        key: hex::encode(node.identity.public_key()),
        generation: 0,
        previous_keys: Vec::new(),
        trust,
        addresses: Vec::new(),
        paired_at_ms: 1,
        last_seen_ms: None,
        updated_at_ms: 1,
    }
}

/// A listener for `node` that knows `peers`. Each connection gets the hello,
/// then every request is answered, after a delay that varies by id so
/// answers come back out of order, with `{method, params, meta}` echoed.
async fn listen(node: &Node, peers: Arc<Peers>) -> String {
    let config = tls::server_config(node.identity.clone(), peers, GRID_ALPN).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let node_id = node.identity.node_id().to_owned();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let node_id = node_id.clone();
            tokio::spawn(async move {
                // An unknown client key fails here: nothing is served.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (read, mut write) = tokio::io::split(tls);
                let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
                let hello = json!({"jsonrpc": "2.0", "method": HELLO_METHOD,
                    "params": {"nodeId": node_id, "generation": 0, "timeMs": 1}});
                let mut line = serde_json::to_vec(&hello).unwrap();
                line.push(b'\n');
                tx.send(line).unwrap();
                tokio::spawn(async move {
                    while let Some(line) = rx.recv().await {
                        if write.write_all(&line).await.is_err() {
                            return;
                        }
                    }
                });
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let request: Request = serde_json::from_str(&line).unwrap();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let n = match request.id {
                            Some(Id::Number(n)) => n,
                            _ => 0,
                        };
                        tokio::time::sleep(Duration::from_millis((n * 7 % 13) as u64)).await;
                        let answer = Response::ok(
                            request.id.clone(),
                            json!({"method": request.method, "params": request.params,
                                "meta": request.meta}),
                        );
                        let mut line = serde_json::to_vec(&answer).unwrap();
                        line.push(b'\n');
                        let _ = tx.send(line);
                    });
                }
            });
        }
    });
    address
}

async fn registry(known: &[(&Node, Trust)]) -> Arc<Peers> {
    let peers = Peers::load(Arc::new(InMemoryPeers::new())).await.unwrap();
    for (i, (node, trust)) in known.iter().enumerate() {
        peers
            .insert(record(node, &format!("peer-{i}"), *trust))
            .await
            .unwrap();
    }
    Arc::new(peers)
}

fn target(address: &str, key: [u8; 32]) -> PeerTarget {
    PeerTarget {
        address: address.to_owned(),
        key,
        generation: 0,
    }
}

#[tokio::test]
async fn a_pinned_handshake_succeeds_and_a_call_round_trips() {
    let (a, b) = (node(), node());
    let address = listen(&a, registry(&[(&b, Trust::Trusted)]).await).await;

    let link = PeerLink::connect(
        b.identity.clone(),
        &target(&address, a.identity.public_key()),
    )
    .await
    .unwrap();
    assert_eq!(link.hello().node_id, a.identity.node_id());

    let meta = RequestMeta {
        forwarded_for: Some("owner".into()),
        ..RequestMeta::default()
    };
    let answer = link
        .call("ping", json!({"message": "hi"}), Some(meta))
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(
        answer,
        json!({"method": "ping", "params": {"message": "hi"}, "meta": {"forwardedFor": "owner"}})
    );
}

#[tokio::test]
async fn a_listener_presenting_another_key_is_refused_by_the_dialer() {
    let (a, b, c) = (node(), node(), node());
    let address = listen(&a, registry(&[(&b, Trust::Trusted)]).await).await;

    // B expects C's key at A's address: A cannot prove it.
    let err = PeerLink::connect(
        b.identity.clone(),
        &target(&address, c.identity.public_key()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LinkError::PeerUnauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn a_client_key_the_listener_does_not_know_is_refused() {
    let (a, b, c) = (node(), node(), node());
    let address = listen(&a, registry(&[(&c, Trust::Trusted)]).await).await;

    let err = PeerLink::connect(
        b.identity.clone(),
        &target(&address, a.identity.public_key()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LinkError::Refused { .. }), "{err:?}");
}

#[tokio::test]
async fn a_blocked_peer_key_is_refused_in_the_handshake() {
    let (a, b) = (node(), node());
    let address = listen(&a, registry(&[(&b, Trust::Blocked)]).await).await;

    let err = PeerLink::connect(
        b.identity.clone(),
        &target(&address, a.identity.public_key()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LinkError::Refused { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_on_one_link_each_get_their_own_answer() {
    let (a, b) = (node(), node());
    let address = listen(&a, registry(&[(&b, Trust::Provisional)]).await).await;
    let link = Arc::new(
        PeerLink::connect(
            b.identity.clone(),
            &target(&address, a.identity.public_key()),
        )
        .await
        .unwrap(),
    );

    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let link = link.clone();
        calls.spawn(async move {
            let answer = link
                .call("echo", json!({ "i": i }), None)
                .await
                .unwrap()
                .into_result()
                .unwrap();
            (i, answer)
        });
    }
    let mut seen = 0;
    while let Some(joined) = calls.join_next().await {
        let (i, answer) = joined.unwrap();
        assert_eq!(answer["params"]["i"], json!(i));
        seen += 1;
    }
    assert_eq!(seen, 200);
    assert!(!link.is_closed());
}

#[tokio::test]
async fn calls_waiting_on_a_link_that_dies_fail_closed() {
    let (a, b) = (node(), node());
    let config = tls::server_config(
        a.identity.clone(),
        registry(&[(&b, Trust::Trusted)]).await,
        GRID_ALPN,
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // A listener that says hello, reads one request, and hangs up.
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let (read, mut write) = tokio::io::split(tls);
        write
            .write_all(
                b"{\"jsonrpc\":\"2.0\",\"method\":\"$/grid/hello\",\"params\":{\"nodeId\":\"node-a\",\"generation\":0,\"timeMs\":1}}\n",
            )
            .await
            .unwrap();
        let mut lines = BufReader::new(read).lines();
        let _ = lines.next_line().await;
    });

    let link = PeerLink::connect(
        b.identity.clone(),
        &target(&address, a.identity.public_key()),
    )
    .await
    .unwrap();
    let err = link.call("ping", json!({}), None).await.unwrap_err();
    assert!(matches!(err, LinkError::Closed), "{err:?}");
    assert!(link.is_closed());
}
