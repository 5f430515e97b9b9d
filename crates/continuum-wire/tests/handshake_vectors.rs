//! The peer handshake test vector published in `docs/peer-handshake.md`.
//!
//! ed25519 signing is deterministic, so fixed seeds, a fixed challenge and a
//! fixed peer id give one exact proof message, signature and JSON line. Every
//! constant below also appears verbatim in the document; a test checks that.

use continuum_wire::peer::{
    check_peer_id, proof_message, Accepted, Challenge, Proof, HANDSHAKE_PROTOCOL, PROOF_DOMAIN,
};
use continuum_wire::{ErrorCode, Response, RpcError};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Seed of the daemon's node key: 32 bytes of 0x11.
const NODE_SEED: [u8; 32] = [0x11; 32];
/// Seed of the peer's key: 32 bytes of 0x22.
const PEER_SEED: [u8; 32] = [0x22; 32];
/// Seed of an unrelated key (another node, another peer): 32 bytes of 0x33.
const OTHER_SEED: [u8; 32] = [0x33; 32];

const NODE_ID: &str = "node-11";
const PEER_ID: &str = "peer-bob";

const NODE_KEY_HEX: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
const PEER_KEY_HEX: &str = "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0";
const OTHER_KEY_HEX: &str = "17cb79fb2b4120f2b1ec65e4198d6e08b28e813feb01e4a400839b85e18080ce";
const CHALLENGE_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// `continuum-peer-handshake/1\0` || challenge || node key || "peer-bob": 99 bytes.
const PROOF_MESSAGE_HEX: &str = "636f6e74696e75756d2d706565722d68616e647368616b652f3100000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fd04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737706565722d626f62";
const SIGNATURE_HEX: &str = "bdfe2bf9f95bfaf1e6403a78a9adf5ae834ff4627697627a57ee75a8350e226f0f90b04b6a6c13bbe6a0b18699ca06656723637b13d859dc3682187cd91c9d06";

const CHALLENGE_LINE: &str = r#"{"handshake":"continuum-peer/1","nodeId":"node-11","nodeKey":"d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737","challenge":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}"#;
const PROOF_LINE: &str = r#"{"peerId":"peer-bob","key":"a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0","signature":"bdfe2bf9f95bfaf1e6403a78a9adf5ae834ff4627697627a57ee75a8350e226f0f90b04b6a6c13bbe6a0b18699ca06656723637b13d859dc3682187cd91c9d06"}"#;
const ACCEPTED_LINE: &str = r#"{"ok":true,"peerId":"peer-bob"}"#;
const REFUSED_SIGNATURE_LINE: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"the handshake signature does not verify under the presented key","data":{"kind":"forbidden","reason":"handshake"}}}"#;
const REFUSED_KEY_LINE: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"key must be 64 hex characters","data":{"kind":"invalid_params","field":"/key","reason":"handshake"}}}"#;

fn challenge() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

fn peer_key() -> VerifyingKey {
    SigningKey::from_bytes(&PEER_SEED).verifying_key()
}

fn documented_signature() -> Signature {
    let bytes: [u8; 64] = hex::decode(SIGNATURE_HEX).unwrap().try_into().unwrap();
    Signature::from_bytes(&bytes)
}

#[test]
fn the_keys_are_the_documented_ones() {
    assert_eq!(hex::encode(public_key(&NODE_SEED)), NODE_KEY_HEX);
    assert_eq!(hex::encode(public_key(&PEER_SEED)), PEER_KEY_HEX);
    assert_eq!(hex::encode(public_key(&OTHER_SEED)), OTHER_KEY_HEX);
    assert_eq!(hex::encode(challenge()), CHALLENGE_HEX);
}

#[test]
fn the_proof_message_is_the_documented_bytes() {
    let message = proof_message(&challenge(), &public_key(&NODE_SEED), PEER_ID);
    assert_eq!(hex::encode(&message), PROOF_MESSAGE_HEX);

    // The layout, piece by piece: no length prefixes, peer id last.
    assert_eq!(PROOF_DOMAIN, b"continuum-peer-handshake/1\0");
    assert_eq!(message.len(), 27 + 32 + 32 + PEER_ID.len());
    assert_eq!(&message[..27], PROOF_DOMAIN);
    assert_eq!(&message[27..59], &challenge());
    assert_eq!(&message[59..91], &public_key(&NODE_SEED));
    assert_eq!(&message[91..], PEER_ID.as_bytes());
}

#[test]
fn the_signature_is_the_documented_one_and_verifies_strictly() {
    let message = proof_message(&challenge(), &public_key(&NODE_SEED), PEER_ID);
    let signature = SigningKey::from_bytes(&PEER_SEED).sign(&message);
    assert_eq!(hex::encode(signature.to_bytes()), SIGNATURE_HEX);
    peer_key()
        .verify_strict(&message, &documented_signature())
        .expect("the documented proof verifies");
}

#[test]
fn the_proof_does_not_verify_for_another_node_peer_id_challenge_or_key() {
    let signature = documented_signature();
    let node_key = public_key(&NODE_SEED);
    let other_node = public_key(&OTHER_SEED);
    let wrong_messages = [
        (
            "another node key",
            proof_message(&challenge(), &other_node, PEER_ID),
        ),
        (
            "another peer id",
            proof_message(&challenge(), &node_key, "peer-mallory"),
        ),
        (
            "another challenge",
            proof_message(&[0xff; 32], &node_key, PEER_ID),
        ),
    ];
    for (what, message) in wrong_messages {
        assert!(
            peer_key().verify_strict(&message, &signature).is_err(),
            "a proof replayed with {what} must not verify"
        );
    }

    // The right message, but presented under a key that did not sign it.
    let message = proof_message(&challenge(), &node_key, PEER_ID);
    let other_key = SigningKey::from_bytes(&OTHER_SEED).verifying_key();
    assert!(other_key.verify_strict(&message, &signature).is_err());
}

#[test]
fn the_documented_lines_are_what_the_wire_types_read_and_write() {
    let challenge_msg: Challenge = serde_json::from_str(CHALLENGE_LINE).unwrap();
    assert_eq!(
        challenge_msg,
        Challenge {
            handshake: HANDSHAKE_PROTOCOL.to_owned(),
            node_id: NODE_ID.to_owned(),
            node_key: NODE_KEY_HEX.to_owned(),
            challenge: CHALLENGE_HEX.to_owned(),
        }
    );
    assert_eq!(
        serde_json::to_string(&challenge_msg).unwrap(),
        CHALLENGE_LINE
    );

    let proof = Proof {
        peer_id: PEER_ID.to_owned(),
        key: PEER_KEY_HEX.to_owned(),
        signature: SIGNATURE_HEX.to_owned(),
    };
    assert!(check_peer_id(&proof.peer_id).is_ok());
    assert_eq!(serde_json::to_string(&proof).unwrap(), PROOF_LINE);
    assert_eq!(serde_json::from_str::<Proof>(PROOF_LINE).unwrap(), proof);
    let with_extra = PROOF_LINE.replace(r#""peerId""#, r#""extra":1,"peerId""#);
    assert!(
        serde_json::from_str::<Proof>(&with_extra).is_err(),
        "unknown fields in a proof are refused"
    );

    let accepted = Accepted {
        ok: true,
        peer_id: PEER_ID.to_owned(),
    };
    assert_eq!(serde_json::to_string(&accepted).unwrap(), ACCEPTED_LINE);
}

#[test]
fn the_documented_refusals_have_the_wire_shape() {
    let signature = RpcError::new(
        ErrorCode::Forbidden,
        "the handshake signature does not verify under the presented key",
    )
    .with_reason("handshake");
    assert_eq!(
        serde_json::to_string(&Response::err(None, signature)).unwrap(),
        REFUSED_SIGNATURE_LINE
    );
    let key = RpcError::new(ErrorCode::InvalidParams, "key must be 64 hex characters")
        .with_field("/key")
        .with_reason("handshake");
    assert_eq!(
        serde_json::to_string(&Response::err(None, key)).unwrap(),
        REFUSED_KEY_LINE
    );
}

#[test]
fn the_document_carries_the_same_values() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/peer-handshake.md");
    let doc = std::fs::read_to_string(path).expect("docs/peer-handshake.md is readable");
    for (name, value) in [
        ("NODE_KEY_HEX", NODE_KEY_HEX),
        ("PEER_KEY_HEX", PEER_KEY_HEX),
        ("OTHER_KEY_HEX", OTHER_KEY_HEX),
        ("CHALLENGE_HEX", CHALLENGE_HEX),
        ("PROOF_MESSAGE_HEX", PROOF_MESSAGE_HEX),
        ("SIGNATURE_HEX", SIGNATURE_HEX),
        ("CHALLENGE_LINE", CHALLENGE_LINE),
        ("PROOF_LINE", PROOF_LINE),
        ("ACCEPTED_LINE", ACCEPTED_LINE),
        ("REFUSED_SIGNATURE_LINE", REFUSED_SIGNATURE_LINE),
        ("REFUSED_KEY_LINE", REFUSED_KEY_LINE),
    ] {
        assert!(
            doc.contains(value),
            "docs/peer-handshake.md does not contain {name} = {value}"
        );
    }
}
