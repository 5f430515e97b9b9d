//! Cross-implementation test vectors in `test-vectors/grants.json`.
//!
//! `generate()` builds the file from fixed seeds and timestamps, so it is
//! reproducible byte for byte. One test checks every committed case against
//! this crate; another checks that regenerating gives the committed file, so
//! the file cannot drift from the generator. After an intended change, rewrite
//! it with `CONTINUUM_GRANT_WRITE_VECTORS=1 cargo test -p continuum-grant --test vectors`.
//!
//! Every case says in `why` which rule it pins. A case that must be refused is
//! built to be acceptable in every other respect (signed by the pinned issuer,
//! presented by the grantee, in the expected mesh and window, conferring the
//! command), so a verifier that skips its rule gives another answer, usually
//! `ok`. The generator asserts, where it can, that it does: malformed cases
//! fail to decode for the intended reason only, base64 cases decode to a valid
//! grant once the transport rule is relaxed, and signatures refused for strict
//! ed25519 reasons pass ed25519-dalek's non-strict check.

use sha2::{Digest, Sha512};
use std::ops::{Add, Mul};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use continuum_grant::body::{
    DOMAIN, FORMAT_VERSION, MAX_CAPABILITIES, MAX_GRANT_BYTES, MAX_STRING_BYTES, SIGNATURE_LEN,
};
use continuum_grant::{
    authorize_checked, authorize_text, issue_grant, CheckedSignature, EpochWatermarks, GrantBody,
    GrantSpec, GrantVerdict, InMemoryWatermarks, SignedGrant, VerifyPolicy,
};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

const VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/grants.json");

const NOW: u64 = 1_750_000_000_000;
const HOUR: u64 = 3_600_000;
const SKEW: u64 = 30_000;
const MESH: &str = "mesh-alpha";
const GRANTEE: &str = "peer-bob";

/// Encoding of the ed25519 base point B.
const BASEPOINT: &str = "5866666666666666666666666666666666666666666666666666666666666666";
/// Encoding of the identity point (order 1).
const IDENTITY: &str = "0100000000000000000000000000000000000000000000000000000000000000";
/// Encoding of a point of order 8.
const ORDER_8_POINT: &str = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
/// The identity again, encoded non-canonically with y = p + 1.
const IDENTITY_NON_CANONICAL: &str =
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
/// The ed25519 group order L, little-endian.
const GROUP_ORDER: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct VectorFile {
    description: String,
    format_version: u8,
    keys: Vec<NamedKey>,
    cases: Vec<Case>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct NamedKey {
    name: String,
    seed: String,
    public_key: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Policy {
    trusted_issuers: Vec<String>,
    mesh: String,
    max_clock_skew_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Watermark {
    grantee_peer_id: String,
    epoch: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Case {
    name: String,
    why: String,
    grant: String,
    presenting_key: String,
    policy: Policy,
    watermarks: Vec<Watermark>,
    now_ms: u64,
    command: String,
    expected: String,
}

struct Keys {
    issuer: SigningKey,
    grantee: SigningKey,
    other_peer: SigningKey,
    rogue_issuer: SigningKey,
}

impl Keys {
    fn fixed() -> Self {
        Self {
            issuer: SigningKey::from_bytes(&[0x11; 32]),
            grantee: SigningKey::from_bytes(&[0x22; 32]),
            other_peer: SigningKey::from_bytes(&[0x33; 32]),
            rogue_issuer: SigningKey::from_bytes(&[0x44; 32]),
        }
    }

    fn named(&self) -> Vec<NamedKey> {
        [
            ("issuer", &self.issuer),
            ("grantee", &self.grantee),
            ("other_peer", &self.other_peer),
            ("rogue_issuer", &self.rogue_issuer),
        ]
        .into_iter()
        .map(|(name, key)| NamedKey {
            name: name.into(),
            seed: hex::encode(key.to_bytes()),
            public_key: public_hex(key),
        })
        .collect()
    }
}

fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Signs hand-made body bytes, for inputs the encoder would never produce.
fn resigned(body: &[u8], signer: &SigningKey) -> String {
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&signer.sign(body).to_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn raw(grant: &SignedGrant) -> Vec<u8> {
    let mut bytes = grant.signed_bytes();
    bytes.extend_from_slice(&grant.signature);
    bytes
}

fn put_bytes(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
}

/// What a decoder that skipped the transport rules would read: whitespace
/// dropped, padding stripped, either alphabet, trailing bits ignored.
fn lenient_base64(text: &str) -> Vec<u8> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    GeneralPurpose::new(
        &alphabet::URL_SAFE,
        NO_PAD.with_decode_allow_trailing_bits(true),
    )
    .decode(cleaned.trim_end_matches('='))
    .expect("decodes once the transport rules are relaxed")
}

/// A signature that verifies under the small-order key `key` by the
/// cofactorless equation `[s]B == R + [k]A` of non-strict verifiers: `R = [n]B`
/// and `s = n` for the first `n` whose challenge `k` makes `[k]A` the identity.
fn forge_under_small_order_key(key: &[u8; 32], message: &[u8]) -> [u8; 64] {
    let weak = VerifyingKey::from_bytes(key).expect("small-order points decode");
    assert!(weak.is_weak(), "{} is not small-order", hex::encode(key));
    let base = VerifyingKey::from_bytes(&key32(BASEPOINT))
        .expect("B decodes")
        .to_edwards();
    let mut r = base;
    for n in 1u64..=256 {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r.compress().to_bytes());
        bytes[32..40].copy_from_slice(&n.to_le_bytes());
        let signature = Signature::from_bytes(&bytes);
        if weak.verify(message, &signature).is_ok() {
            assert!(weak.verify_strict(message, &signature).is_err());
            return bytes;
        }
        r += base;
    }
    panic!(
        "no n up to 256 gives a signature under {}",
        hex::encode(key)
    );
}

/// A signature by `issuer` whose `R` is the identity point: with `s = k·a`
/// the cofactorless equation `[s]B == R + [k]A` holds, so only the strict
/// small-order check on `R` refuses it.
fn sign_with_identity_r(issuer: &SigningKey, message: &[u8]) -> [u8; 64] {
    let public = issuer.verifying_key();
    let identity = key32(IDENTITY);
    let challenge: [u8; 64] = Sha512::new()
        .chain_update(identity)
        .chain_update(public.as_bytes())
        .chain_update(message)
        .finalize()
        .into();
    let s = scalar_times_le(issuer.to_scalar(), &challenge);
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&identity);
    bytes[32..].copy_from_slice(&s.to_bytes());
    let signature = Signature::from_bytes(&bytes);
    assert!(public.verify(message, &signature).is_ok());
    assert!(public.verify_strict(message, &signature).is_err());
    bytes
}

/// `factor · n` in the scalar field, for `n` a little-endian integer of any
/// length. Generic because the scalar type is curve25519-dalek's, which this
/// crate does not name.
fn scalar_times_le<S>(factor: S, n: &[u8]) -> S
where
    S: Copy + From<u64> + Add<Output = S> + Mul<Output = S>,
{
    let n = n.iter().rev().fold(S::from(0u64), |acc, &byte| {
        acc * S::from(256u64) + S::from(u64::from(byte))
    });
    n * factor
}

/// The same signature with `S + L` in place of `S`: the same point `[S]B`, but
/// a non-canonical scalar.
fn with_s_plus_group_order(mut signature: [u8; 64]) -> [u8; 64] {
    let mut carry = 0u16;
    for (s, l) in signature[32..].iter_mut().zip(key32(GROUP_ORDER)) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    // Still below 2^253, so the legacy "top three bits clear" check passes.
    assert_eq!(signature[63] & 0xe0, 0);
    signature
}

struct Builder {
    keys: Keys,
    cases: Vec<Case>,
}

impl Builder {
    fn spec(&self) -> GrantSpec {
        GrantSpec {
            mesh_id: MESH.into(),
            grantee_peer_id: GRANTEE.into(),
            grantee_key: self.keys.grantee.verifying_key().to_bytes(),
            capabilities: vec!["ai/generate".into(), "data/list".into()],
            issued_at_ms: NOW - HOUR,
            expires_at_ms: NOW + HOUR,
            epoch: 5,
        }
    }

    fn issue(&self, edit: impl FnOnce(&mut GrantSpec)) -> SignedGrant {
        let mut spec = self.spec();
        edit(&mut spec);
        issue_grant(&self.keys.issuer, spec).expect("within limits")
    }

    /// Hand-encodes a body with the default fields except those given, for
    /// inputs `GrantBody` refuses to build. `count` is written as given and
    /// `capabilities` in the order given.
    fn raw_body(
        &self,
        mesh: &[u8],
        peer: &[u8],
        count: u32,
        capabilities: &[impl AsRef<[u8]>],
    ) -> Vec<u8> {
        let spec = self.spec();
        let mut out = DOMAIN.to_vec();
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.keys.issuer.verifying_key().to_bytes());
        put_bytes(&mut out, mesh);
        put_bytes(&mut out, peer);
        out.extend_from_slice(&spec.grantee_key);
        for n in [spec.issued_at_ms, spec.expires_at_ms, spec.epoch] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.extend_from_slice(&count.to_be_bytes());
        for capability in capabilities {
            put_bytes(&mut out, capability.as_ref());
        }
        out
    }

    /// [`Builder::raw_body`] with the default mesh and peer and a true count.
    fn raw_caps_body(&self, capabilities: &[impl AsRef<[u8]>]) -> Vec<u8> {
        self.raw_body(
            MESH.as_bytes(),
            GRANTEE.as_bytes(),
            capabilities.len() as u32,
            capabilities,
        )
    }

    /// Transport text of `body` signed by the pinned issuer.
    fn signed(&self, body: &[u8]) -> String {
        resigned(body, &self.keys.issuer)
    }

    /// `"ai/generate"` plus filler capabilities, sorted, making the body
    /// exactly `body_len` bytes; each is within the string limit.
    fn capabilities_filling(&self, body_len: usize) -> Vec<String> {
        let mut capabilities = vec!["ai/generate".to_owned()];
        let mut left = body_len - self.raw_caps_body(&capabilities).len();
        let full = 4 + MAX_STRING_BYTES;
        while left > 0 {
            // Split the last stretch in two rather than leave a remainder too
            // short for one more capability.
            let cost = if left > full && left < 2 * full {
                left / 2
            } else {
                left.min(full)
            };
            let name = format!("fill/{:02}/", capabilities.len());
            assert!(cost - 4 >= name.len());
            capabilities.push(format!("{name:x<width$}", width = cost - 4));
            left -= cost;
        }
        capabilities.sort();
        assert_eq!(self.raw_caps_body(&capabilities).len(), body_len);
        capabilities
    }

    fn policy(&self) -> Policy {
        Policy {
            trusted_issuers: vec![public_hex(&self.keys.issuer)],
            mesh: MESH.into(),
            max_clock_skew_ms: SKEW,
        }
    }

    /// Adds a case presented by the grantee under the default policy, with no
    /// stored watermarks; the returned case can be adjusted further.
    fn case(
        &mut self,
        name: &str,
        why: &str,
        grant: String,
        command: &str,
        expected: &str,
    ) -> &mut Case {
        let case = Case {
            name: name.into(),
            why: why.into(),
            grant,
            presenting_key: public_hex(&self.keys.grantee),
            policy: self.policy(),
            watermarks: Vec::new(),
            now_ms: NOW,
            command: command.into(),
            expected: expected.into(),
        };
        self.cases.push(case);
        self.cases.last_mut().expect("just pushed")
    }

    /// Adds a case expected to be `malformed`, after checking that this crate
    /// refuses it for `reason` (a [`continuum_grant::DecodeError`] code) and
    /// for nothing else that comes first.
    fn malformed(
        &mut self,
        name: &str,
        why: &str,
        grant: String,
        command: &str,
        reason: &str,
    ) -> &mut Case {
        let err = SignedGrant::from_text(&grant).expect_err(name);
        assert_eq!(
            err.code(),
            reason,
            "case {name} is malformed for another reason"
        );
        self.case(name, why, grant, command, "malformed")
    }

    /// Adds a case for a grant with `issuer_key` in place of the issuer's key
    /// and `signature` in place of its signature, with that key pinned.
    fn pinned_key_case(
        &mut self,
        name: &str,
        why: &str,
        issuer_key: [u8; 32],
        sign: impl FnOnce(&[u8]) -> [u8; 64],
    ) {
        let body = GrantBody::new(issuer_key, self.spec()).expect("within limits");
        let signature = sign(&body.to_bytes());
        let text = SignedGrant { body, signature }.to_text();
        self.case(name, why, text, "ai/generate", "bad_signature")
            .policy
            .trusted_issuers = vec![hex::encode(issuer_key)];
    }
}

fn generate() -> String {
    let mut b = Builder {
        keys: Keys::fixed(),
        cases: Vec::new(),
    };
    let valid = b.issue(|_| {}).to_text();

    // Capability rule.
    b.case(
        "valid_exact_capability",
        "baseline: a well-formed grant confers a capability equal to the command",
        valid.clone(),
        "ai/generate",
        "ok",
    );
    b.case(
        "valid_below_capability_on_slash_boundary",
        "a capability confers the commands below it on a '/' boundary",
        valid.clone(),
        "ai/generate/stream",
        "ok",
    );
    b.case(
        "prefix_without_slash_boundary",
        "a byte prefix of the command that does not end on a '/' boundary confers nothing",
        valid.clone(),
        "ai/generatex",
        "not_granted",
    );
    b.case(
        "parent_of_capability",
        "a capability does not confer its parent",
        valid.clone(),
        "ai",
        "not_granted",
    );
    b.case(
        "command_not_conferred",
        "a command no capability covers is refused",
        valid.clone(),
        "data/delete",
        "not_granted",
    );
    let empty = b.issue(|s| s.capabilities = vec![String::new()]).to_text();
    b.case(
        "empty_capability_confers_nothing",
        "the empty capability confers nothing, although it is a prefix of every command",
        empty,
        "ai/generate",
        "not_granted",
    );
    let revocation = b.issue(|s| s.capabilities.clear()).to_text();
    b.case(
        "no_capabilities",
        "a grant with no capabilities (a revocation) confers nothing",
        revocation,
        "ai/generate",
        "not_granted",
    );

    // Issuer and signature.
    let rogue = issue_grant(&b.keys.rogue_issuer, b.spec())
        .unwrap()
        .to_text();
    b.case(
        "untrusted_issuer",
        "a grant signed by a key that is not pinned is refused, however valid its signature",
        rogue,
        "ai/generate",
        "untrusted_issuer",
    );
    b.case(
        "no_pinned_issuers",
        "an empty list of pinned issuers trusts nobody",
        valid.clone(),
        "ai/generate",
        "untrusted_issuer",
    )
    .policy
    .trusted_issuers
    .clear();
    let mut tampered = raw(&b.issue(|_| {}));
    // First byte of the mesh id (offset 53): still decodes, no longer verifies.
    tampered[53] ^= 0x01;
    b.case(
        "tampered_body_byte",
        "the signature covers the body: one changed byte of the mesh id fails it",
        URL_SAFE_NO_PAD.encode(&tampered),
        "ai/generate",
        "bad_signature",
    );
    let mut tampered = raw(&b.issue(|_| {}));
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    b.case(
        "tampered_signature_byte",
        "a changed signature byte fails verification",
        URL_SAFE_NO_PAD.encode(&tampered),
        "ai/generate",
        "bad_signature",
    );
    let forged = {
        let body = GrantBody::new(b.keys.issuer.verifying_key().to_bytes(), b.spec()).unwrap();
        SignedGrant::sign(body, &b.keys.rogue_issuer).to_text()
    };
    b.case(
        "pinned_issuer_named_but_signed_by_another_key",
        "the signature must verify under the issuer key the grant names",
        forged,
        "ai/generate",
        "bad_signature",
    );

    // Strict ed25519: each signature below passes the non-strict cofactorless
    // check (asserted by the helpers), so only the strict rule refuses it.
    b.pinned_key_case(
        "issuer_key_identity_point",
        "strict ed25519: the pinned issuer key is the identity point (small order), under \
         which R = B, s = 1 verifies non-strictly for any message",
        key32(IDENTITY),
        |message| forge_under_small_order_key(&key32(IDENTITY), message),
    );
    let order_8 = {
        let point = VerifyingKey::from_bytes(&key32(ORDER_8_POINT))
            .unwrap()
            .to_edwards();
        let twice = point + point;
        assert_ne!((twice + twice).compress().to_bytes(), key32(IDENTITY));
        assert_eq!(
            point.mul_by_cofactor().compress().to_bytes(),
            key32(IDENTITY)
        );
        key32(ORDER_8_POINT)
    };
    b.pinned_key_case(
        "issuer_key_order_8_point",
        "strict ed25519: the pinned issuer key is a point of order 8; the signature \
         (R = [n]B, s = n) verifies non-strictly because [k]A is the identity",
        order_8,
        |message| forge_under_small_order_key(&order_8, message),
    );
    b.pinned_key_case(
        "issuer_key_non_canonical_identity_encoding",
        "strict ed25519: the pinned issuer key encodes the identity with y = p + 1, so a \
         small-order check that compares against canonical encodings misses it",
        key32(IDENTITY_NON_CANONICAL),
        |message| forge_under_small_order_key(&key32(IDENTITY_NON_CANONICAL), message),
    );
    let invalid_point = (0u8..=255)
        .map(|byte| {
            let mut key = [0u8; 32];
            key[0] = byte;
            key[1] = 1;
            key
        })
        .find(|key| VerifyingKey::from_bytes(key).is_err())
        .expect("some y has no curve point");
    let issuer = b.keys.issuer.clone();
    b.pinned_key_case(
        "issuer_key_not_a_curve_point",
        "a pinned issuer key that does not decode to a curve point fails at the signature \
         step (bad_signature), not at decoding",
        invalid_point,
        |message| issuer.sign(message).to_bytes(),
    );
    let body = b.issue(|_| {}).body;
    let identity_r = sign_with_identity_r(&b.keys.issuer, &body.to_bytes());
    b.case(
        "signature_r_identity_point",
        "strict ed25519: R is the identity (small order) and s = k*a, which satisfies the \
         non-strict equation under the real issuer key",
        SignedGrant {
            body: body.clone(),
            signature: identity_r,
        }
        .to_text(),
        "ai/generate",
        "bad_signature",
    );
    let genuine = b.issue(|_| {}).signature;
    b.case(
        "signature_s_plus_group_order",
        "strict ed25519: S + L in place of the genuine S (non-canonical scalar, same point \
         [S]B); a verifier that only checks the top three bits of S accepts it",
        SignedGrant {
            body,
            signature: with_s_plus_group_order(genuine),
        }
        .to_text(),
        "ai/generate",
        "bad_signature",
    );

    // Key binding, mesh, window.
    b.case(
        "stolen_grant_presented_by_another_key",
        "the presenting key must equal grantee_key",
        valid.clone(),
        "ai/generate",
        "key_mismatch",
    )
    .presenting_key = public_hex(&b.keys.other_peer);
    let other_mesh = b.issue(|s| s.mesh_id = "mesh-beta".into()).to_text();
    b.case(
        "wrong_mesh",
        "mesh_id must equal the expected mesh",
        other_mesh,
        "ai/generate",
        "wrong_mesh",
    );
    let inverted = b.issue(|s| s.expires_at_ms = s.issued_at_ms).to_text();
    b.case(
        "expires_at_issue",
        "expires_at_ms must be strictly greater than issued_at_ms",
        inverted,
        "ai/generate",
        "invalid_window",
    );
    let future = b.issue(|s| s.issued_at_ms = NOW + SKEW + 1).to_text();
    b.case(
        "issued_beyond_skew",
        "issued_at_ms one millisecond past now + skew is not yet valid",
        future,
        "ai/generate",
        "not_yet_valid",
    );
    let near_future = b.issue(|s| s.issued_at_ms = NOW + SKEW).to_text();
    b.case(
        "issued_within_skew",
        "issued_at_ms exactly now + skew is valid",
        near_future,
        "ai/generate",
        "ok",
    );
    let past = b.issue(|s| s.expires_at_ms = NOW - SKEW - 1).to_text();
    b.case(
        "expired_beyond_skew",
        "expires_at_ms one millisecond before now - skew is expired",
        past,
        "ai/generate",
        "expired",
    );
    let recent = b.issue(|s| s.expires_at_ms = NOW - SKEW).to_text();
    b.case(
        "expired_within_skew",
        "expires_at_ms exactly now - skew is still valid",
        recent,
        "ai/generate",
        "ok",
    );

    // Epoch watermark.
    let mark = |epoch| {
        vec![Watermark {
            grantee_peer_id: GRANTEE.into(),
            epoch,
        }]
    };
    b.case(
        "epoch_below_watermark",
        "an epoch below the grantee's watermark is superseded",
        valid.clone(),
        "ai/generate",
        "superseded",
    )
    .watermarks = mark(6);
    b.case(
        "epoch_equal_to_watermark",
        "an epoch equal to the watermark is accepted (the same grant is presented on every call)",
        valid.clone(),
        "ai/generate",
        "ok",
    )
    .watermarks = mark(5);
    b.case(
        "epoch_above_watermark",
        "an epoch above the watermark is accepted",
        valid.clone(),
        "ai/generate",
        "ok",
    )
    .watermarks = mark(4);
    b.case(
        "watermark_of_another_grantee",
        "watermarks are kept per grantee_peer_id",
        valid.clone(),
        "ai/generate",
        "ok",
    )
    .watermarks = vec![Watermark {
        grantee_peer_id: "peer-carol".into(),
        epoch: 9,
    }];

    // Malformed transport.
    let valid_raw = raw(&b.issue(|_| {}));
    b.malformed(
        "truncated_by_ten_bytes",
        "the last ten bytes are missing, so the body is cut short",
        URL_SAFE_NO_PAD.encode(&valid_raw[..valid_raw.len() - 10]),
        "ai/generate",
        "truncated",
    );
    b.malformed(
        "empty_text",
        "fewer than 64 decoded bytes",
        String::new(),
        "ai/generate",
        "truncated",
    );
    b.malformed(
        "shorter_than_a_signature",
        "63 decoded bytes: fewer than the 64 of a signature",
        URL_SAFE_NO_PAD.encode(&valid_raw[..SIGNATURE_LEN - 1]),
        "ai/generate",
        "truncated",
    );
    b.malformed(
        "signature_without_body",
        "exactly 64 decoded bytes: a signature and an empty body",
        URL_SAFE_NO_PAD.encode(&valid_raw[valid_raw.len() - SIGNATURE_LEN..]),
        "ai/generate",
        "truncated",
    );
    let mut extra = valid_raw.clone();
    extra.push(0);
    b.malformed(
        "byte_after_signature",
        "nothing may follow the signature; a decoder that reads the body and then 64 bytes \
         of signature, ignoring the rest, accepts this",
        URL_SAFE_NO_PAD.encode(&extra),
        "ai/generate",
        "trailing_bytes",
    );
    b.malformed(
        "bad_base64_character",
        "'!' is in no base64 alphabet",
        format!("{}!", &valid[..valid.len() - 1]),
        "ai/generate",
        "bad_base64",
    );
    b.malformed(
        "padded_base64",
        "padding characters are not allowed (here two '=', not even the canonical padding)",
        format!("{valid}=="),
        "ai/generate",
        "bad_base64",
    );

    // Base64url rules: each text decodes to the valid grant once its rule is
    // relaxed, so a verifier that skips the rule answers ok.
    assert!(valid.contains('-') && valid.contains('_'));
    assert_ne!(
        valid.len() % 4,
        0,
        "the last base64 character has spare bits"
    );
    let base64_case = |b: &mut Builder, name: &str, why: &str, text: String| {
        assert_eq!(lenient_base64(&text), valid_raw, "case {name}");
        b.malformed(name, why, text, "ai/generate", "bad_base64");
    };
    base64_case(
        &mut b,
        "base64_standard_alphabet_plus",
        "base64url only: every '-' replaced by the standard alphabet's '+'",
        valid.replace('-', "+"),
    );
    base64_case(
        &mut b,
        "base64_standard_alphabet_slash",
        "base64url only: every '_' replaced by the standard alphabet's '/'",
        valid.replace('_', "/"),
    );
    base64_case(
        &mut b,
        "base64_canonical_padding",
        "no padding: the valid text with exactly the '=' that padded base64 would add",
        format!("{valid}{}", "=".repeat(4 - valid.len() % 4)),
    );
    let last = valid.as_bytes()[valid.len() - 1];
    let url_alphabet = alphabet::URL_SAFE.as_str().as_bytes();
    let index = url_alphabet.iter().position(|&c| c == last).unwrap();
    assert_eq!(index & 1, 0, "canonical trailing bits are zero");
    base64_case(
        &mut b,
        "base64_non_zero_trailing_bits",
        "canonical base64: the last character has its unused low bit set, decoding to the \
         same bytes under a decoder that ignores trailing bits",
        format!(
            "{}{}",
            &valid[..valid.len() - 1],
            url_alphabet[index | 1] as char
        ),
    );
    base64_case(
        &mut b,
        "base64_trailing_newline",
        "no whitespace: the valid text followed by a newline",
        format!("{valid}\n"),
    );
    let wrapped = valid
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    base64_case(
        &mut b,
        "base64_mime_line_breaks",
        "no whitespace: the valid text broken into 76-character lines by CRLF",
        wrapped,
    );

    // Layout: each body below is signed by the pinned issuer.
    let body = b.issue(|_| {}).signed_bytes();
    assert_eq!(
        b.raw_caps_body(&["ai/generate", "data/list"]),
        body,
        "the hand encoder matches the crate's"
    );
    let mut trailing = body.clone();
    trailing.push(0);
    b.malformed(
        "trailing_byte_before_signature",
        "the body must be consumed exactly: one extra byte after the last capability",
        b.signed(&trailing),
        "ai/generate",
        "trailing_bytes",
    );
    b.malformed(
        "body_cut_inside_last_capability",
        "a truncated field: the signed body ends three bytes short of its last capability",
        b.signed(&body[..body.len() - 3]),
        "ai/generate",
        "truncated",
    );
    b.malformed(
        "capability_count_above_list",
        "the count says 3 but two capabilities follow; a decoder that stops at the end of \
         the body accepts this",
        b.signed(&b.raw_body(
            MESH.as_bytes(),
            GRANTEE.as_bytes(),
            3,
            &["ai/generate", "data/list"],
        )),
        "ai/generate",
        "truncated",
    );
    b.malformed(
        "capability_count_below_list",
        "the count says 1 but two capabilities follow; a decoder that reads to the end of \
         the body instead of by count accepts this",
        b.signed(&b.raw_body(
            MESH.as_bytes(),
            GRANTEE.as_bytes(),
            1,
            &["ai/generate", "data/list"],
        )),
        "ai/generate",
        "trailing_bytes",
    );
    let mut version = body.clone();
    version[DOMAIN.len()] = FORMAT_VERSION + 1;
    b.malformed(
        "unknown_version",
        "only version 1 is read: version 2",
        b.signed(&version),
        "ai/generate",
        "unknown_version",
    );
    let mut version = body.clone();
    version[DOMAIN.len()] = 0;
    b.malformed(
        "version_zero",
        "only version 1 is read: version 0 (refused by a check of version <= 1)",
        b.signed(&version),
        "ai/generate",
        "unknown_version",
    );
    let mut domain = body.clone();
    domain[0] ^= 0x20;
    b.malformed(
        "wrong_domain_prefix",
        "the body must start with the domain prefix: 'Continuum-grant\\0'",
        b.signed(&domain),
        "ai/generate",
        "bad_domain",
    );
    let mut domain = body.clone();
    domain[DOMAIN.len() - 1] = b' ';
    b.malformed(
        "domain_prefix_without_nul",
        "the domain prefix includes its 0x00 byte: 'continuum-grant ' is refused",
        b.signed(&domain),
        "ai/generate",
        "bad_domain",
    );

    // Canonical capabilities.
    b.malformed(
        "unsorted_capabilities",
        "capabilities must be strictly ascending by bytes: 'data/list' before 'ai/generate'",
        b.signed(&b.raw_caps_body(&["data/list", "ai/generate"])),
        "ai/generate",
        "non_canonical_capabilities",
    );
    b.malformed(
        "duplicate_capabilities",
        "capabilities must be unique: 'ai/generate' twice",
        b.signed(&b.raw_caps_body(&["ai/generate", "ai/generate", "data/list"])),
        "ai/generate",
        "non_canonical_capabilities",
    );
    b.malformed(
        "capabilities_in_case_insensitive_order",
        "the order is by bytes: 'ai/generate' before 'Zeta' is case-insensitive order, but \
         'Z' (0x5a) sorts before 'a' (0x61)",
        b.signed(&b.raw_caps_body(&["ai/generate", "Zeta"])),
        "ai/generate",
        "non_canonical_capabilities",
    );
    b.malformed(
        "capabilities_in_utf16_order",
        "the order is by UTF-8 bytes: U+1F600 before U+FF5E is UTF-16 code unit order, \
         but in UTF-8 bytes U+FF5E sorts first",
        b.signed(&b.raw_caps_body(&["ai/generate", "\u{1F600}", "\u{FF5E}"])),
        "ai/generate",
        "non_canonical_capabilities",
    );
    let byte_order = b
        .issue(|s| {
            s.capabilities = ["Zeta", "ai/generate", "\u{FF5E}", "\u{1F600}"]
                .map(String::from)
                .to_vec()
        })
        .to_text();
    b.case(
        "capabilities_in_byte_order",
        "the canonical order is by UTF-8 bytes ('Zeta' < 'ai/generate' < U+FF5E < U+1F600); \
         a verifier checking case-insensitive or UTF-16 order refuses this valid grant",
        byte_order,
        "ai/generate",
        "ok",
    );

    // Size limits: at each limit (accepted) and one past it (refused). The
    // refused ones are otherwise valid: the over-long mesh id is the expected
    // mesh, the over-long capability is the command.
    let at = |prefix: &str, len: usize| format!("{prefix:x<len$}");
    let mesh = at("mesh-", MAX_STRING_BYTES);
    let text = b.issue(|s| s.mesh_id = mesh.clone()).to_text();
    b.case(
        "mesh_id_at_length_limit",
        "a mesh_id of exactly 256 bytes is allowed",
        text,
        "ai/generate",
        "ok",
    )
    .policy
    .mesh = mesh;
    let mesh = at("mesh-", MAX_STRING_BYTES + 1);
    let text = b.signed(&b.raw_body(
        mesh.as_bytes(),
        GRANTEE.as_bytes(),
        2,
        &["ai/generate", "data/list"],
    ));
    b.malformed(
        "mesh_id_over_length_limit",
        "a mesh_id of 257 bytes exceeds the string limit (it is the expected mesh)",
        text,
        "ai/generate",
        "field_too_long",
    )
    .policy
    .mesh = mesh;
    let peer = at("peer-", MAX_STRING_BYTES);
    b.case(
        "grantee_peer_id_at_length_limit",
        "a grantee_peer_id of exactly 256 bytes is allowed",
        b.issue(|s| s.grantee_peer_id = peer).to_text(),
        "ai/generate",
        "ok",
    );
    let peer = at("peer-", MAX_STRING_BYTES + 1);
    b.malformed(
        "grantee_peer_id_over_length_limit",
        "a grantee_peer_id of 257 bytes exceeds the string limit",
        b.signed(&b.raw_body(
            MESH.as_bytes(),
            peer.as_bytes(),
            2,
            &["ai/generate", "data/list"],
        )),
        "ai/generate",
        "field_too_long",
    );
    let capability = at("ai/generate/", MAX_STRING_BYTES);
    b.case(
        "capability_at_length_limit",
        "a capability of exactly 256 bytes is allowed and confers itself",
        b.issue(|s| s.capabilities = vec![capability.clone()])
            .to_text(),
        &capability,
        "ok",
    );
    let capability = at("ai/generate/", MAX_STRING_BYTES + 1);
    b.malformed(
        "capability_over_length_limit",
        "a capability of 257 bytes exceeds the string limit (it is the command asked for)",
        b.signed(&b.raw_caps_body(&[capability.as_str()])),
        &capability,
        "field_too_long",
    );
    let many = |count: usize| {
        let mut capabilities = vec!["ai/generate".to_owned()];
        capabilities.extend((1..count).map(|i| format!("cap/{i:03}")));
        capabilities
    };
    b.case(
        "capability_count_at_limit",
        "exactly 256 capabilities are allowed",
        b.issue(|s| s.capabilities = many(MAX_CAPABILITIES))
            .to_text(),
        "ai/generate",
        "ok",
    );
    b.malformed(
        "capability_count_over_limit",
        "257 capabilities exceed the count limit",
        b.signed(&b.raw_caps_body(&many(MAX_CAPABILITIES + 1))),
        "ai/generate",
        "too_many_capabilities",
    );
    b.malformed(
        "absurd_capability_count",
        "a count of 2^32 - 1 is refused by the count limit before anything is read or \
         allocated for it",
        b.signed(&b.raw_body(
            MESH.as_bytes(),
            GRANTEE.as_bytes(),
            u32::MAX,
            &[] as &[&str],
        )),
        "ai/generate",
        "too_many_capabilities",
    );
    let mut absurd = DOMAIN.to_vec();
    absurd.push(FORMAT_VERSION);
    absurd.extend_from_slice(&b.keys.issuer.verifying_key().to_bytes());
    absurd.extend_from_slice(&u32::MAX.to_be_bytes());
    b.malformed(
        "absurd_mesh_id_length",
        "a string length of 2^32 - 1 is refused by the string limit before anything is read \
         or allocated for it",
        b.signed(&absurd),
        "ai/generate",
        "field_too_long",
    );
    let largest = b.issue(|s| {
        s.capabilities = b.capabilities_filling(MAX_GRANT_BYTES - SIGNATURE_LEN);
    });
    assert_eq!(raw(&largest).len(), MAX_GRANT_BYTES);
    b.case(
        "total_size_at_limit",
        "a grant of exactly 16 384 bytes with its signature (21 846 characters) is allowed",
        largest.to_text(),
        "ai/generate",
        "ok",
    );
    let too_large = b.capabilities_filling(MAX_GRANT_BYTES - SIGNATURE_LEN + 1);
    assert!(issue_grant(
        &b.keys.issuer,
        GrantSpec {
            capabilities: too_large.clone(),
            ..b.spec()
        }
    )
    .is_err());
    b.malformed(
        "total_size_over_limit",
        "a grant of 16 385 bytes exceeds the total size limit; every field is within its own",
        b.signed(&b.raw_caps_body(&too_large)),
        "ai/generate",
        "too_large",
    );

    // Invalid UTF-8, in each string field.
    b.malformed(
        "mesh_id_invalid_utf8_overlong",
        "mesh_id must be UTF-8: 'mesh' 0xC0 0xAD 'alpha' is an overlong '-', which a lax \
         decoder reads as the expected mesh 'mesh-alpha'",
        b.signed(&b.raw_body(
            b"mesh\xc0\xadalpha",
            GRANTEE.as_bytes(),
            2,
            &["ai/generate", "data/list"],
        )),
        "ai/generate",
        "invalid_utf8",
    );
    b.malformed(
        "grantee_peer_id_invalid_utf8_surrogate",
        "grantee_peer_id must be UTF-8: it ends in 0xED 0xA0 0x80, an encoded UTF-16 \
         surrogate (CESU-8/WTF-8, not UTF-8)",
        b.signed(&b.raw_body(
            MESH.as_bytes(),
            b"peer-bob\xed\xa0\x80",
            2,
            &["ai/generate", "data/list"],
        )),
        "ai/generate",
        "invalid_utf8",
    );
    b.malformed(
        "capability_invalid_utf8_overlong_slash",
        "capabilities must be UTF-8: 'ai' 0xC0 0xAF 'generate' is an overlong '/', which \
         a lax decoder reads as 'ai/generate', the command asked for",
        b.signed(&b.raw_caps_body(&[b"ai\xc0\xafgenerate".as_slice()])),
        "ai/generate",
        "invalid_utf8",
    );
    b.malformed(
        "capability_invalid_utf8_byte",
        "capabilities must be UTF-8, even one not needed for the command: 'data/' 0xFF \
         follows a valid 'ai/generate'",
        b.signed(&b.raw_caps_body(&[b"ai/generate".as_slice(), b"data/\xff"])),
        "ai/generate",
        "invalid_utf8",
    );

    // Order of checks: each grant fails two; the first in pipeline order wins.
    let rogue_expired = {
        let mut spec = b.spec();
        spec.expires_at_ms = NOW - HOUR / 2;
        issue_grant(&b.keys.rogue_issuer, spec).unwrap().to_text()
    };
    b.case(
        "untrusted_issuer_before_expired",
        "order of checks: the issuer is checked before the validity window",
        rogue_expired,
        "ai/generate",
        "untrusted_issuer",
    );
    let other_mesh = b.issue(|s| s.mesh_id = "mesh-beta".into()).to_text();
    b.case(
        "key_mismatch_before_wrong_mesh",
        "order of checks: the key binding is checked before the mesh",
        other_mesh,
        "ai/generate",
        "key_mismatch",
    )
    .presenting_key = public_hex(&b.keys.other_peer);
    let expired_elsewhere = b
        .issue(|s| {
            s.mesh_id = "mesh-beta".into();
            s.expires_at_ms = NOW - HOUR / 2;
        })
        .to_text();
    b.case(
        "wrong_mesh_before_expired",
        "order of checks: the mesh is checked before the validity window",
        expired_elsewhere,
        "ai/generate",
        "wrong_mesh",
    );
    b.case(
        "superseded_before_not_granted",
        "order of checks: the epoch watermark is checked before the capabilities",
        valid,
        "data/delete",
        "superseded",
    )
    .watermarks = mark(6);

    let file = VectorFile {
        description: "continuum-grant test vectors; format in docs/grant-format.md".into(),
        format_version: FORMAT_VERSION,
        keys: b.keys.named(),
        cases: b.cases,
    };
    let mut json = serde_json::to_string_pretty(&file).expect("serializable");
    json.push('\n');
    json
}

fn key32(hex_text: &str) -> [u8; 32] {
    hex::decode(hex_text)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

fn store_for(case: &Case) -> InMemoryWatermarks {
    let store = InMemoryWatermarks::default();
    for w in &case.watermarks {
        store
            .check_and_advance(&w.grantee_peer_id, w.epoch, u64::MAX, case.now_ms)
            .expect("in-memory store");
    }
    store
}

fn policy_for(case: &Case) -> VerifyPolicy {
    VerifyPolicy {
        trusted_issuers: case
            .policy
            .trusted_issuers
            .iter()
            .map(|k| key32(k))
            .collect(),
        expected_mesh: case.policy.mesh.clone(),
        max_clock_skew_ms: case.policy.max_clock_skew_ms,
    }
}

fn code<T>(result: Result<T, GrantVerdict>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(verdict) => verdict.code().into(),
    }
}

fn run(case: &Case) -> String {
    code(authorize_text(
        &case.grant,
        &key32(&case.presenting_key),
        &case.command,
        &policy_for(case),
        &store_for(case),
        case.now_ms,
    ))
}

/// The cacheable path: check the signature once, then authorize twice with
/// the same proof (as a daemon cache hit would).
fn run_checked(case: &Case) -> String {
    let policy = policy_for(case);
    let store = store_for(case);
    let checked = match SignedGrant::from_text(&case.grant) {
        Ok(grant) => CheckedSignature::check(grant, &policy),
        Err(err) => Err(err.into()),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(verdict) => return verdict.code().into(),
    };
    let key = key32(&case.presenting_key);
    let first = code(authorize_checked(
        &checked,
        &key,
        &case.command,
        &policy,
        &store,
        case.now_ms,
    ));
    let again = code(authorize_checked(
        &checked,
        &key,
        &case.command,
        &policy,
        &store,
        case.now_ms,
    ));
    assert_eq!(
        first, again,
        "reusing a checked signature changed the verdict"
    );
    first
}

#[test]
fn every_committed_vector_yields_its_expected_verdict() {
    let text = std::fs::read_to_string(VECTORS_PATH).expect("committed vectors");
    let file: VectorFile = serde_json::from_str(&text).expect("vector file parses");
    assert!(file.cases.len() >= 30);
    // Every mismatch at once: a verifier that skips a rule fails a family.
    let mismatches: Vec<String> = file
        .cases
        .iter()
        .filter_map(|case| {
            let got = run(case);
            (got != case.expected)
                .then(|| format!("{}: {got}, expected {}", case.name, case.expected))
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_checked_signature_path_yields_the_same_verdicts() {
    let file: VectorFile = serde_json::from_str(&generate()).unwrap();
    for case in &file.cases {
        assert_eq!(run_checked(case), case.expected, "case {}", case.name);
    }
}

#[test]
fn a_checked_signature_does_not_outlive_the_issuer_pinning() {
    let b = Builder {
        keys: Keys::fixed(),
        cases: Vec::new(),
    };
    let policy = policy_for(&Case {
        name: String::new(),
        why: String::new(),
        grant: String::new(),
        presenting_key: String::new(),
        policy: b.policy(),
        watermarks: Vec::new(),
        now_ms: NOW,
        command: String::new(),
        expected: String::new(),
    });
    let checked = CheckedSignature::check(b.issue(|_| {}), &policy).expect("valid");
    let unpinned = VerifyPolicy {
        trusted_issuers: Vec::new(),
        ..policy
    };
    let verdict = authorize_checked(
        &checked,
        &b.keys.grantee.verifying_key().to_bytes(),
        "ai/generate",
        &unpinned,
        &InMemoryWatermarks::default(),
        NOW,
    );
    assert_eq!(verdict.unwrap_err(), GrantVerdict::UntrustedIssuer);
}

#[test]
fn regenerating_the_vectors_reproduces_the_committed_file() {
    let generated = generate();
    if std::env::var_os("CONTINUUM_GRANT_WRITE_VECTORS").is_some() {
        std::fs::write(VECTORS_PATH, &generated).expect("write vectors");
    }
    let committed = std::fs::read_to_string(VECTORS_PATH).expect("committed vectors");
    assert!(
        committed == generated,
        "test-vectors/grants.json differs from the generator; rerun with CONTINUUM_GRANT_WRITE_VECTORS=1 if the change is intended"
    );
}

#[test]
fn case_names_are_unique() {
    let file: VectorFile = serde_json::from_str(&generate()).unwrap();
    let names: std::collections::BTreeSet<_> = file.cases.iter().map(|c| &c.name).collect();
    assert_eq!(names.len(), file.cases.len());
}

#[test]
fn every_case_says_which_rule_it_pins() {
    let file: VectorFile = serde_json::from_str(&generate()).unwrap();
    for case in &file.cases {
        assert!(!case.why.trim().is_empty(), "case {} has no why", case.name);
    }
}
