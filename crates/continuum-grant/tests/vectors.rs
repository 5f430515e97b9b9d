//! Cross-implementation test vectors in `test-vectors/grants.json`.
//!
//! `generate()` builds the file from fixed seeds and timestamps, so it is
//! reproducible byte for byte. One test checks every committed case against
//! this crate; another checks that regenerating gives the committed file, so
//! the file cannot drift from the generator. After an intended change, rewrite
//! it with `CONTINUUM_GRANT_WRITE_VECTORS=1 cargo test -p continuum-grant --test vectors`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use continuum_grant::body::{DOMAIN, FORMAT_VERSION};
use continuum_grant::{
    authorize_checked, authorize_text, issue_grant, CheckedSignature, EpochWatermarks, GrantBody,
    GrantSpec, GrantVerdict, InMemoryWatermarks, SignedGrant, VerifyPolicy,
};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

const VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/grants.json");

const NOW: u64 = 1_750_000_000_000;
const HOUR: u64 = 3_600_000;
const SKEW: u64 = 30_000;
const MESH: &str = "mesh-alpha";
const GRANTEE: &str = "peer-bob";

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

    fn policy(&self) -> Policy {
        Policy {
            trusted_issuers: vec![public_hex(&self.keys.issuer)],
            mesh: MESH.into(),
            max_clock_skew_ms: SKEW,
        }
    }

    /// Adds a case presented by the grantee under the default policy, with no
    /// stored watermarks; the returned case can be adjusted further.
    fn case(&mut self, name: &str, grant: String, command: &str, expected: &str) -> &mut Case {
        let case = Case {
            name: name.into(),
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
}

fn generate() -> String {
    let mut b = Builder {
        keys: Keys::fixed(),
        cases: Vec::new(),
    };
    let valid = b.issue(|_| {}).to_text();

    // Capability rule.
    b.case("valid_exact_capability", valid.clone(), "ai/generate", "ok");
    b.case(
        "valid_below_capability_on_slash_boundary",
        valid.clone(),
        "ai/generate/stream",
        "ok",
    );
    b.case(
        "prefix_without_slash_boundary",
        valid.clone(),
        "ai/generatex",
        "not_granted",
    );
    b.case("parent_of_capability", valid.clone(), "ai", "not_granted");
    b.case(
        "command_not_conferred",
        valid.clone(),
        "data/delete",
        "not_granted",
    );
    let empty = b.issue(|s| s.capabilities = vec![String::new()]).to_text();
    b.case(
        "empty_capability_confers_nothing",
        empty,
        "ai/generate",
        "not_granted",
    );
    let revocation = b.issue(|s| s.capabilities.clear()).to_text();
    b.case("no_capabilities", revocation, "ai/generate", "not_granted");

    // Issuer and signature.
    let rogue = issue_grant(&b.keys.rogue_issuer, b.spec())
        .unwrap()
        .to_text();
    b.case("untrusted_issuer", rogue, "ai/generate", "untrusted_issuer");
    b.case(
        "no_pinned_issuers",
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
        URL_SAFE_NO_PAD.encode(&tampered),
        "ai/generate",
        "bad_signature",
    );
    let mut tampered = raw(&b.issue(|_| {}));
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    b.case(
        "tampered_signature_byte",
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
        forged,
        "ai/generate",
        "bad_signature",
    );

    // Key binding, mesh, window.
    b.case(
        "stolen_grant_presented_by_another_key",
        valid.clone(),
        "ai/generate",
        "key_mismatch",
    )
    .presenting_key = public_hex(&b.keys.other_peer);
    let other_mesh = b.issue(|s| s.mesh_id = "mesh-beta".into()).to_text();
    b.case("wrong_mesh", other_mesh, "ai/generate", "wrong_mesh");
    let inverted = b.issue(|s| s.expires_at_ms = s.issued_at_ms).to_text();
    b.case(
        "expires_at_issue",
        inverted,
        "ai/generate",
        "invalid_window",
    );
    let future = b.issue(|s| s.issued_at_ms = NOW + SKEW + 1).to_text();
    b.case("issued_beyond_skew", future, "ai/generate", "not_yet_valid");
    let near_future = b.issue(|s| s.issued_at_ms = NOW + SKEW).to_text();
    b.case("issued_within_skew", near_future, "ai/generate", "ok");
    let past = b.issue(|s| s.expires_at_ms = NOW - SKEW - 1).to_text();
    b.case("expired_beyond_skew", past, "ai/generate", "expired");
    let recent = b.issue(|s| s.expires_at_ms = NOW - SKEW).to_text();
    b.case("expired_within_skew", recent, "ai/generate", "ok");

    // Epoch watermark.
    let mark = |epoch| {
        vec![Watermark {
            grantee_peer_id: GRANTEE.into(),
            epoch,
        }]
    };
    b.case(
        "epoch_below_watermark",
        valid.clone(),
        "ai/generate",
        "superseded",
    )
    .watermarks = mark(6);
    b.case(
        "epoch_equal_to_watermark",
        valid.clone(),
        "ai/generate",
        "ok",
    )
    .watermarks = mark(5);
    b.case("epoch_above_watermark", valid.clone(), "ai/generate", "ok")
        .watermarks = mark(4);
    b.case(
        "watermark_of_another_grantee",
        valid.clone(),
        "ai/generate",
        "ok",
    )
    .watermarks = vec![Watermark {
        grantee_peer_id: "peer-carol".into(),
        epoch: 9,
    }];

    // Malformed transport.
    let bytes = raw(&b.issue(|_| {}));
    b.case(
        "truncated_by_ten_bytes",
        URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 10]),
        "ai/generate",
        "malformed",
    );
    b.case("empty_text", String::new(), "ai/generate", "malformed");
    b.case(
        "bad_base64_character",
        format!("{}!", &valid[..valid.len() - 1]),
        "ai/generate",
        "malformed",
    );
    b.case(
        "padded_base64",
        format!("{valid}=="),
        "ai/generate",
        "malformed",
    );
    let body = b.issue(|_| {}).signed_bytes();
    let mut trailing = body.clone();
    trailing.push(0);
    b.case(
        "trailing_byte_before_signature",
        resigned(&trailing, &b.keys.issuer),
        "ai/generate",
        "malformed",
    );
    let mut version = body.clone();
    version[DOMAIN.len()] = FORMAT_VERSION + 1;
    b.case(
        "unknown_version",
        resigned(&version, &b.keys.issuer),
        "ai/generate",
        "malformed",
    );
    let mut domain = body.clone();
    domain[0] ^= 0x20;
    b.case(
        "wrong_domain_prefix",
        resigned(&domain, &b.keys.issuer),
        "ai/generate",
        "malformed",
    );
    // Capabilities are the tail of the body: count, then (len, bytes) each.
    let caps_at = body.len() - (4 + 4 + "ai/generate".len() + 4 + "data/list".len());
    let mut unsorted = body[..caps_at].to_vec();
    unsorted.extend_from_slice(&2u32.to_be_bytes());
    for cap in ["data/list", "ai/generate"] {
        unsorted.extend_from_slice(&(cap.len() as u32).to_be_bytes());
        unsorted.extend_from_slice(cap.as_bytes());
    }
    b.case(
        "unsorted_capabilities",
        resigned(&unsorted, &b.keys.issuer),
        "ai/generate",
        "malformed",
    );
    let mut huge_count = body[..caps_at].to_vec();
    huge_count.extend_from_slice(&u32::MAX.to_be_bytes());
    b.case(
        "absurd_capability_count",
        resigned(&huge_count, &b.keys.issuer),
        "ai/generate",
        "malformed",
    );

    // Order of checks: each grant fails two; the first in pipeline order wins.
    let rogue_expired = {
        let mut spec = b.spec();
        spec.expires_at_ms = NOW - HOUR / 2;
        issue_grant(&b.keys.rogue_issuer, spec).unwrap().to_text()
    };
    b.case(
        "untrusted_issuer_before_expired",
        rogue_expired,
        "ai/generate",
        "untrusted_issuer",
    );
    let other_mesh = b.issue(|s| s.mesh_id = "mesh-beta".into()).to_text();
    b.case(
        "key_mismatch_before_wrong_mesh",
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
        expired_elsewhere,
        "ai/generate",
        "wrong_mesh",
    );
    b.case(
        "superseded_before_not_granted",
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
    for case in &file.cases {
        assert_eq!(run(case), case.expected, "case {}", case.name);
    }
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
