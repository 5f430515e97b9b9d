//! Capability grants end to end: the real daemon, its loopback peer listener
//! (a peer proves its ed25519 key in a handshake), and the production
//! authorizer behind the gate. Grants are issued, presented, stolen, revoked,
//! and outlive a restart of the daemon.

use continuum_e2e::TestHome;
use continuum_wire::peer::{proof_message, Accepted, Challenge, Proof};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// A grid peer: a TCP connection that answered the daemon's challenge.
struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next: i64,
}

fn read_json(reader: &mut BufReader<TcpStream>) -> Value {
    let mut line = String::new();
    let n = reader.read_line(&mut line).expect("read");
    assert!(n > 0, "connection closed");
    serde_json::from_str(&line).unwrap_or_else(|err| panic!("bad frame {line:?}: {err}"))
}

fn connect(addr: &str) -> (BufReader<TcpStream>, TcpStream, Challenge) {
    let stream = TcpStream::connect(addr).expect("connect to the peer listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let challenge: Challenge = serde_json::from_value(read_json(&mut reader)).expect("challenge");
    (reader, writer, challenge)
}

fn send(writer: &mut TcpStream, value: &impl serde::Serialize) {
    let mut line = serde_json::to_vec(value).unwrap();
    line.push(b'\n');
    writer.write_all(&line).unwrap();
}

/// Sends `proof` and returns the daemon's answer line.
fn answer(addr: &str, make_proof: impl FnOnce(&Challenge) -> Proof) -> (Value, Option<Peer>) {
    let (mut reader, mut writer, challenge) = connect(addr);
    send(&mut writer, &make_proof(&challenge));
    let reply = read_json(&mut reader);
    let peer = serde_json::from_value::<Accepted>(reply.clone())
        .ok()
        .map(|_| Peer {
            reader,
            writer,
            next: 1,
        });
    (reply, peer)
}

fn proof(key: &SigningKey, peer_id: &str, challenge: &Challenge) -> Proof {
    let nonce: [u8; 32] = hex::decode(&challenge.challenge)
        .unwrap()
        .try_into()
        .unwrap();
    let node_key: [u8; 32] = hex::decode(&challenge.node_key)
        .unwrap()
        .try_into()
        .unwrap();
    Proof {
        peer_id: peer_id.into(),
        key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(
            key.sign(&proof_message(&nonce, &node_key, peer_id))
                .to_bytes(),
        ),
    }
}

impl Peer {
    fn handshake(addr: &str, key: &SigningKey, peer_id: &str) -> Peer {
        let (reply, peer) = answer(addr, |c| proof(key, peer_id, c));
        assert_eq!(reply["ok"], true, "handshake refused: {reply}");
        assert_eq!(reply["peerId"], peer_id);
        peer.unwrap()
    }

    fn call(&mut self, method: &str, grant: Option<&str>) -> Value {
        self.call_with(method, json!({}), grant)
    }

    fn call_with(&mut self, method: &str, params: Value, grant: Option<&str>) -> Value {
        let id = self.next;
        self.next += 1;
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Some(grant) = grant {
            request["meta"] = json!({"grant": grant});
        }
        send(&mut self.writer, &request);
        let reply = read_json(&mut self.reader);
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }
}

/// The stable reason of a refusal, or "ok".
fn verdict(reply: &Value) -> String {
    if reply.get("result").is_some() {
        return "ok".into();
    }
    assert_eq!(
        reply["error"]["data"]["kind"], "forbidden",
        "expected forbidden: {reply}"
    );
    reply["error"]["data"]["reason"]
        .as_str()
        .unwrap_or("?")
        .to_owned()
}

fn start_with_peers(t: &TestHome) -> String {
    let out = t
        .cu_command(&["start"])
        .env("CONTINUUM_PEER_TCP", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    t.cu(&["grid/identity"]).json()["peerListener"]
        .as_str()
        .expect("peerListener in grid/identity")
        .to_owned()
}

fn issue(t: &TestHome, grantee: &str, key: &SigningKey, capabilities: &str) -> String {
    let key_hex = hex::encode(key.verifying_key().to_bytes());
    let out = t.cu(&[
        "grid/grant/issue",
        "--grantee",
        grantee,
        "--grantee-key",
        &key_hex,
        "--capabilities",
        capabilities,
        "--ttl",
        "1h",
    ]);
    assert_eq!(out.code(), 0, "{out:?}");
    out.json()["grant"].as_str().expect("grant text").to_owned()
}

#[test]
fn a_peer_runs_exactly_what_its_grant_confers_until_revoked_even_across_restarts() {
    let t = TestHome::new();
    let addr = start_with_peers(&t);
    let identity = t.cu(&["grid/identity"]).json();
    let key_file = t.home().root().join("identity/node.key");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&key_file).unwrap();
    assert!(!identity.to_string().contains(secret.trim()));
    assert_eq!(identity["publicKey"].as_str().unwrap().len(), 64);

    let bob_key = SigningKey::from_bytes(&[0xb0; 32]);
    let mut bob = Peer::handshake(&addr, &bob_key, "peer-bob");
    // A peer is Provisional: AI-safe yes, Trusted no.
    assert_eq!(verdict(&bob.call("ping", None)), "ok");
    assert_eq!(
        verdict(&bob.call("system/info", None)),
        "insufficient_trust"
    );

    let grant = issue(&t, "peer-bob", &bob_key, "system/info");
    assert_eq!(verdict(&bob.call("system/info", Some(&grant))), "ok");
    assert_eq!(
        verdict(&bob.call("system/metrics", Some(&grant))),
        "not_granted"
    );
    assert_eq!(
        verdict(&bob.call("system/shutdown", Some(&grant))),
        "owner_only"
    );
    let listed = bob.call("commands/list", Some(&grant));
    let names: Vec<&str> = listed["result"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"system/info") && !names.contains(&"system/metrics"));

    // Stolen: another key presents Bob's grant.
    let mallory_key = SigningKey::from_bytes(&[0x66; 32]);
    let mut mallory = Peer::handshake(&addr, &mallory_key, "peer-bob");
    assert_eq!(
        verdict(&mallory.call("system/info", Some(&grant))),
        "key_mismatch"
    );
    // Tampered: one byte of the body changed.
    let mut tampered = grant.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(["bad_signature", "malformed"]
        .contains(&verdict(&bob.call("system/info", Some(&tampered))).as_str()));

    // Revoke, then restart: the old grant stays dead.
    let revoked = t.cu(&["grid/grant/revoke", "--grantee", "peer-bob"]);
    assert_eq!(revoked.code(), 0, "{revoked:?}");
    assert_eq!(
        verdict(&bob.call("system/info", Some(&grant))),
        "superseded"
    );
    assert_eq!(t.cu(&["stop"]).code(), 0);
    let addr = start_with_peers(&t);
    let mut bob = Peer::handshake(&addr, &bob_key, "peer-bob");
    assert_eq!(
        verdict(&bob.call("system/info", Some(&grant))),
        "superseded"
    );
    let fresh = issue(&t, "peer-bob", &bob_key, "system");
    assert_eq!(verdict(&bob.call("system/metrics", Some(&fresh))), "ok");

    let issued = t.cu(&["grid/grant/list", "--grantee", "peer-bob"]).json();
    let epochs: Vec<u64> = issued["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, vec![3, 2, 1], "{issued}");

    // Every grant decision is in the audit log, and the chain verifies.
    let tail = t.cu(&["audit/tail", "--limit", "200"]).json();
    let records = tail["records"].as_array().expect("records");
    let seen = |command: &str, reason: &str| {
        records.iter().any(|r| {
            r["command"] == command && r["reason"] == reason && r["caller"] == "peer:peer-bob"
        })
    };
    for (command, reason) in [
        ("system/info", "insufficient_trust"),
        ("system/info", "grant"),
        ("system/metrics", "not_granted"),
        ("system/info", "key_mismatch"),
        ("system/info", "superseded"),
        ("system/metrics", "grant"),
    ] {
        assert!(
            seen(command, reason),
            "no audit record {command} {reason}: {tail}"
        );
    }
    assert_eq!(t.cu(&["audit/verify"]).json()["ok"], true);
    assert!(
        !t.log().contains(secret.trim()),
        "the node key reached the log"
    );
}

#[test]
fn the_handshake_refuses_a_peer_that_cannot_prove_its_key() {
    let t = TestHome::new();
    let addr = start_with_peers(&t);
    let key = SigningKey::from_bytes(&[0x51; 32]);
    let other = SigningKey::from_bytes(&[0x52; 32]);
    // Signed by another key than the one presented.
    let (reply, peer) = answer(&addr, |c| Proof {
        key: hex::encode(key.verifying_key().to_bytes()),
        ..proof(&other, "peer-x", c)
    });
    assert!(peer.is_none());
    assert_eq!(reply["error"]["data"]["reason"], "handshake", "{reply}");
    // Signed for a different peer id than the one claimed.
    let (reply, _) = answer(&addr, |c| Proof {
        peer_id: "peer-y".into(),
        ..proof(&key, "peer-x", c)
    });
    assert_eq!(reply["error"]["data"]["reason"], "handshake", "{reply}");
    // Malformed fields name the field.
    let (reply, _) = answer(&addr, |c| Proof {
        key: "zz".into(),
        ..proof(&key, "peer-x", c)
    });
    assert_eq!(reply["error"]["data"]["field"], "/key", "{reply}");
    // Not JSON at all.
    let (mut reader, mut writer, _) = connect(&addr);
    writer.write_all(b"hello\n").unwrap();
    assert_eq!(
        read_json(&mut reader)["error"]["data"]["reason"],
        "handshake"
    );
    // The daemon is fine.
    assert_eq!(t.cu(&["ping"]).code(), 0);
}

#[test]
fn the_peer_listener_refuses_non_loopback_addresses() {
    let t = TestHome::new();
    let out = t
        .cu_command(&["start"])
        .env("CONTINUUM_PEER_TCP", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(text.contains("loopback"), "{text}");
}

#[test]
fn the_grantee_keeps_the_latest_grant_per_target() {
    let issuer = TestHome::new();
    let grantee = TestHome::new();
    assert_eq!(issuer.start().code(), 0);
    assert_eq!(grantee.start().code(), 0);
    let issuer_id = issuer.cu(&["grid/identity"]).json();
    let grantee_id = grantee.cu(&["grid/identity"]).json();
    let grantee_key = grantee_id["publicKey"].as_str().unwrap();
    let node = grantee_id["nodeId"].as_str().unwrap();
    let target = issuer_id["nodeId"].as_str().unwrap();
    let mut grants = Vec::new();
    for _ in 0..2 {
        let out = issuer.cu(&[
            "grid/grant/issue",
            "--grantee",
            node,
            "--grantee-key",
            grantee_key,
            "--capabilities",
            "ai/generate",
            "--ttl",
            "30m",
        ]);
        assert_eq!(out.code(), 0, "{out:?}");
        grants.push(out.json()["grant"].as_str().unwrap().to_owned());
    }
    let hold = |grant: &str| {
        grantee
            .cu(&["grid/grant/hold", "--target", target, "--grant", grant])
            .json()
    };
    assert_eq!(hold(&grants[1])["stored"], true);
    let older = hold(&grants[0]);
    assert_eq!(
        (older["stored"].clone(), older["heldEpoch"].clone()),
        (json!(false), json!(2))
    );
    let held = grantee.cu(&["grid/grant/held"]).json();
    assert_eq!(held["grants"].as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held["grants"][0]["epoch"], 2);
    assert_eq!(held["grants"][0]["targetPeerId"], target);

    // A grant for someone else's key is refused, naming the field.
    let out = issuer.cu(&["grid/grant/hold", "--target", node, "--grant", &grants[1]]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("/grant") || out.stdout().contains("/grant"),
        "{out:?}"
    );
}

/// Every epoch the format allows is stored and compared exactly, through the
/// real daemon and a restart: a grant at 2^63-2, 2^63-1, 2^63 or 2^64-2 is
/// honoured, revoked, and stays revoked after a restart; 2^64-1 is refused at
/// issue (no higher epoch could revoke it), with a clear error.
#[test]
fn grants_at_the_largest_epochs_are_revoked_exactly_and_stay_revoked() {
    let t = TestHome::new();
    let addr = start_with_peers(&t);
    let epochs: [u64; 4] = [(1 << 63) - 2, (1 << 63) - 1, 1 << 63, u64::MAX - 1];
    let mut grants = Vec::new();
    for (n, epoch) in epochs.into_iter().enumerate() {
        let peer_id = format!("peer-e{n}");
        let key = SigningKey::from_bytes(&[0x40 + n as u8; 32]);
        let out = t.cu(&[
            "grid/grant/issue",
            "--grantee",
            &peer_id,
            "--grantee-key",
            &hex::encode(key.verifying_key().to_bytes()),
            "--capabilities",
            "system/info",
            "--ttl",
            "1h",
            "--epoch",
            &epoch.to_string(),
        ]);
        assert_eq!(out.code(), 0, "epoch {epoch}: {out:?}");
        assert_eq!(out.json()["epoch"].as_u64(), Some(epoch), "{out:?}");
        let grant = out.json()["grant"].as_str().unwrap().to_owned();
        let mut peer = Peer::handshake(&addr, &key, &peer_id);
        assert_eq!(
            verdict(&peer.call("system/info", Some(&grant))),
            "ok",
            "epoch {epoch}"
        );
        let revoked = t.cu(&["grid/grant/revoke", "--grantee", &peer_id]);
        assert_eq!(revoked.code(), 0, "{revoked:?}");
        assert_eq!(
            revoked.json()["epoch"].as_u64(),
            Some(epoch + 1),
            "{revoked:?}"
        );
        assert_eq!(
            verdict(&peer.call("system/info", Some(&grant))),
            "superseded",
            "epoch {epoch} still works after revoke"
        );
        grants.push((peer_id, key, grant));
    }

    let top = t.cu(&[
        "grid/grant/issue",
        "--grantee",
        "peer-top",
        "--grantee-key",
        &hex::encode(
            SigningKey::from_bytes(&[0x50; 32])
                .verifying_key()
                .to_bytes(),
        ),
        "--capabilities",
        "system/info",
        "--ttl",
        "1h",
        "--epoch",
        &u64::MAX.to_string(),
    ]);
    assert_eq!(top.code(), 2, "{top:?}");
    assert!(
        top.stderr().contains("/epoch") && top.stderr().contains("no higher epoch"),
        "{top:?}"
    );

    assert_eq!(t.cu(&["stop"]).code(), 0);
    let addr = start_with_peers(&t);
    for (peer_id, key, grant) in &grants {
        let mut peer = Peer::handshake(&addr, key, peer_id);
        assert_eq!(
            verdict(&peer.call("system/info", Some(grant))),
            "superseded",
            "{peer_id} came back after a restart"
        );
    }
}

/// A handshake proof whose unknown field name carries a newline and an
/// escape sequence cannot forge a line in the daemon's log: every event stays
/// one line, with the control characters escaped.
#[test]
fn a_crafted_handshake_cannot_forge_a_log_line() {
    let t = TestHome::new();
    let addr = start_with_peers(&t);
    let forged = "2026-11-23T00:00:00.000000Z  INFO continuum_ipc: owner logged in";
    let (mut reader, mut writer, _challenge) = connect(&addr);
    let mut proof = serde_json::Map::new();
    proof.insert("peerId".into(), json!("mallory"));
    proof.insert(format!("x\n{forged}\u{1b}[2J"), json!(1));
    send(&mut writer, &proof);
    let refused = read_json(&mut reader);
    assert_eq!(refused["error"]["data"]["reason"], "handshake", "{refused}");
    assert_eq!(t.cu(&["stop"]).code(), 0);
    let log = t.log();
    assert!(log.contains("peer handshake refused"), "{log}");
    for line in log.lines() {
        assert!(
            !line.starts_with(forged),
            "a forged line reached the log: {line:?}"
        );
        assert!(
            !line.contains('\u{1b}'),
            "a raw escape reached the log: {line:?}"
        );
    }
    assert!(
        log.contains("\\n2026-11-23T00:00:00"),
        "the newline is escaped in place: {log}"
    );
}

/// A persona sells its own compute: a grant it signs lets a peer call as
/// that persona (its memories, its trust), and never above its trust.
#[test]
fn a_persona_issued_grant_runs_the_call_as_the_persona_and_never_above_its_trust() {
    let t = TestHome::new();
    t.write(
        "providers.toml",
        "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    );
    let addr = start_with_peers(&t);
    let seller = t.cu_json(&[
        "persona/create",
        "--name",
        "seller",
        "--provider",
        "local",
        "--system-prompt",
        "Sell compute.",
    ]);
    let pro = t.cu_json(&[
        "persona/create",
        "--name",
        "pro",
        "--provider",
        "local",
        "--trust",
        "trusted",
    ]);
    let bob_key = SigningKey::from_bytes(&[0xb0; 32]);
    let bob_hex = hex::encode(bob_key.verifying_key().to_bytes());
    let persona_grant = |persona: &str, capabilities: &[&str]| {
        let mut args = vec![
            "grid/grant/issue",
            "--persona",
            persona,
            "--grantee",
            "peer-bob",
            "--grantee-key",
            &bob_hex,
            "--ttl",
            "1h",
        ];
        for capability in capabilities {
            args.extend(["--capabilities", capability]);
        }
        t.cu_json(&args)["grant"].as_str().unwrap().to_owned()
    };
    let mut bob = Peer::handshake(&addr, &bob_key, "peer-bob");
    let remember = json!({"text": "bob bought an hour of compute"});

    // Without the persona's grant, a peer has no memories to write.
    assert_eq!(
        verdict(&bob.call_with("memory/remember", remember.clone(), None)),
        "not_a_persona"
    );

    let grant = persona_grant("seller", &["memory/remember", "system/info"]);
    let stored = bob.call_with("memory/remember", remember.clone(), Some(&grant));
    assert_eq!(stored["result"]["personaId"], seller["id"], "{stored}");
    let recalled = t.cu_json(&[
        "memory/recall",
        "--persona",
        "seller",
        "--query",
        "bought compute",
    ]);
    assert_eq!(
        recalled["memories"][0]["text"],
        "bob bought an hour of compute"
    );
    // The grant lists system/info, but seller (Provisional) may not call it.
    assert_eq!(
        verdict(&bob.call("system/info", Some(&grant))),
        "persona_trust"
    );

    // A Trusted persona's grant does reach a Trusted command.
    let trusted = persona_grant("pro", &["system/info"]);
    assert_eq!(verdict(&bob.call("system/info", Some(&trusted))), "ok");

    // Audited as the persona, on the peer's behalf, with the peer's proven key.
    let audit = t.cu_json(&["audit/tail", "--limit", "100"]);
    let acted = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["command"] == "memory/remember" && r["reason"] == "persona_grant")
        .expect("the persona's call is audited");
    assert_eq!(
        acted["caller"],
        format!("persona:{}", seller["id"].as_str().unwrap())
    );
    assert_eq!(acted["forwardedFor"], "peer:peer-bob");
    assert_eq!(acted["callerKey"], bob_hex.as_str());
    assert_eq!(acted["grantIssuer"], seller["publicKey"]);
    assert_eq!(acted["outcome"], "allowed");

    // Without a grant the peer is itself: labelled as a peer in a room, and
    // shown no persona's system prompt.
    t.cu_json(&["room/create", "--name", "market"]);
    let posted = bob.call_with(
        "chat/send",
        json!({"room": "market", "text": "hello"}),
        None,
    );
    assert_eq!(
        posted["result"]["author"]["name"], "peer:peer-bob",
        "{posted}"
    );
    assert_eq!(posted["result"]["author"]["kind"], "peer");
    let listed = bob.call("persona/list", None);
    assert!(
        listed["result"]["personas"][0]
            .get("systemPrompt")
            .is_none(),
        "{listed}"
    );

    // A retired persona's grants stop at once.
    t.cu_json(&["persona/retire", "--persona", "pro"]);
    assert_ne!(verdict(&bob.call("system/info", Some(&trusted))), "ok");
    assert_eq!(pro["trust"], "trusted");
}
