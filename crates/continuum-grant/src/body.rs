//! The grant itself and its canonical byte encoding.
//!
//! The byte layout is specified in `docs/grant-format.md`; this file is its one
//! implementation. Encoding never goes through a serializer: every field is
//! written in a fixed order with explicit lengths, so the signed bytes depend on
//! nothing but the field values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};

/// Domain-separation prefix: the first bytes of every encoded grant body, so a
/// grant signature can never be confused with a signature over anything else.
pub const DOMAIN: &[u8; 16] = b"continuum-grant\0";

/// The encoding version this crate writes and the only one it reads.
pub const FORMAT_VERSION: u8 = 1;

/// Most capabilities one grant may carry.
pub const MAX_CAPABILITIES: usize = 256;

/// Most bytes in one string field (mesh id, grantee peer id, one capability).
pub const MAX_STRING_BYTES: usize = 256;

/// Most bytes in an encoded grant: canonical body plus the 64-byte signature.
pub const MAX_GRANT_BYTES: usize = 16 * 1024;

/// Length of the ed25519 signature that follows the body.
pub const SIGNATURE_LEN: usize = 64;

/// Longest transport text that could decode to at most [`MAX_GRANT_BYTES`];
/// anything longer is rejected before decoding.
const MAX_TEXT_LEN: usize = (MAX_GRANT_BYTES * 4).div_ceil(3);

/// What a grant says before it is signed. Build one with [`GrantBody::new`].
///
/// Fields are private so every value upholds the encoding's invariants:
/// capabilities are sorted and deduplicated (equal sets encode equally) and
/// every length is within the limits, so a body always encodes to bytes that
/// [`SignedGrant::from_text`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrantBody {
    version: u8,
    issuer_key: [u8; 32],
    mesh_id: String,
    grantee_peer_id: String,
    grantee_key: [u8; 32],
    capabilities: Vec<String>,
    issued_at_ms: u64,
    expires_at_ms: u64,
    epoch: u64,
}

/// The issuer-independent parts of a grant, as the issuing command fills them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    /// The mesh the grant is valid in.
    pub mesh_id: String,
    /// The peer the grant is issued to.
    pub grantee_peer_id: String,
    /// The ed25519 public key the grantee must present the grant with.
    pub grantee_key: [u8; 32],
    /// Command names conferred; order and duplicates do not matter.
    pub capabilities: Vec<String>,
    /// Start of validity, unix milliseconds.
    pub issued_at_ms: u64,
    /// End of validity, unix milliseconds.
    pub expires_at_ms: u64,
    /// Issue counter per grantee: a higher epoch supersedes every lower one.
    pub epoch: u64,
}

/// A body that would break the encoding limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A string field is longer than [`MAX_STRING_BYTES`].
    #[error("{field} is {len} bytes; the limit is {MAX_STRING_BYTES}")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// More than [`MAX_CAPABILITIES`] capabilities.
    #[error("{count} capabilities; the limit is {MAX_CAPABILITIES}")]
    TooManyCapabilities {
        /// How many were given.
        count: usize,
    },
    /// The encoded grant would exceed [`MAX_GRANT_BYTES`].
    #[error("encoded grant is {len} bytes; the limit is {MAX_GRANT_BYTES}")]
    TooLarge {
        /// Encoded size including the signature.
        len: usize,
    },
}

/// Why a transported grant could not be decoded. Every malformed input ends
/// here; the decoder never panics and never allocates more than the input size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not unpadded base64url (or has non-canonical trailing bits).
    #[error("grant is not valid unpadded base64url")]
    BadBase64,
    /// The bytes end before the layout does.
    #[error("grant is truncated")]
    Truncated,
    /// Bytes remain between the body and the signature.
    #[error("grant has {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// The bytes do not start with [`DOMAIN`].
    #[error("grant does not start with the continuum-grant domain prefix")]
    BadDomain,
    /// A version this build does not understand.
    #[error(
        "grant format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    UnknownVersion(u8),
    /// A string field is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Which field.
        field: &'static str,
    },
    /// Capabilities are not strictly ascending, so the encoding is not the
    /// canonical one for its set.
    #[error("capabilities are not sorted and unique")]
    NonCanonicalCapabilities,
    /// A length or count exceeds the limits.
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl DecodeError {
    /// Stable snake_case name for audit logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadBase64 => "bad_base64",
            Self::Truncated => "truncated",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::BadDomain => "bad_domain",
            Self::UnknownVersion(_) => "unknown_version",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::NonCanonicalCapabilities => "non_canonical_capabilities",
            Self::Limit(LimitError::FieldTooLong { .. }) => "field_too_long",
            Self::Limit(LimitError::TooManyCapabilities { .. }) => "too_many_capabilities",
            Self::Limit(LimitError::TooLarge { .. }) => "too_large",
        }
    }
}

impl GrantBody {
    /// Builds a version-[`FORMAT_VERSION`] body, sorting and deduplicating the
    /// capabilities. Fails only if the body would exceed the encoding limits;
    /// the validity window is judged at verification, not here.
    pub fn new(issuer_key: [u8; 32], spec: GrantSpec) -> Result<Self, LimitError> {
        let mut capabilities = spec.capabilities;
        capabilities.sort_unstable();
        capabilities.dedup();
        let body = Self {
            version: FORMAT_VERSION,
            issuer_key,
            mesh_id: spec.mesh_id,
            grantee_peer_id: spec.grantee_peer_id,
            grantee_key: spec.grantee_key,
            capabilities,
            issued_at_ms: spec.issued_at_ms,
            expires_at_ms: spec.expires_at_ms,
            epoch: spec.epoch,
        };
        body.check_limits()?;
        Ok(body)
    }

    fn check_limits(&self) -> Result<(), LimitError> {
        check_string("mesh_id", &self.mesh_id)?;
        check_string("grantee_peer_id", &self.grantee_peer_id)?;
        if self.capabilities.len() > MAX_CAPABILITIES {
            return Err(LimitError::TooManyCapabilities {
                count: self.capabilities.len(),
            });
        }
        for capability in &self.capabilities {
            check_string("capability", capability)?;
        }
        let len = self.encoded_len() + SIGNATURE_LEN;
        if len > MAX_GRANT_BYTES {
            return Err(LimitError::TooLarge { len });
        }
        Ok(())
    }

    /// Encoding version (always [`FORMAT_VERSION`] for a decoded body).
    pub fn version(&self) -> u8 {
        self.version
    }
    /// Public key of the signer; must be pinned by the verifier.
    pub fn issuer_key(&self) -> &[u8; 32] {
        &self.issuer_key
    }
    /// The mesh the grant is valid in.
    pub fn mesh_id(&self) -> &str {
        &self.mesh_id
    }
    /// The peer the grant is issued to.
    pub fn grantee_peer_id(&self) -> &str {
        &self.grantee_peer_id
    }
    /// The key the grantee must present the grant with.
    pub fn grantee_key(&self) -> &[u8; 32] {
        &self.grantee_key
    }
    /// Conferred command names, sorted and unique.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }
    /// Start of validity, unix milliseconds.
    pub fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
    }
    /// End of validity, unix milliseconds.
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }
    /// Issue counter per grantee; the highest seen is authoritative.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn encoded_len(&self) -> usize {
        DOMAIN.len()
            + 1
            + 32
            + 4
            + self.mesh_id.len()
            + 4
            + self.grantee_peer_id.len()
            + 32
            + 8 * 3
            + 4
            + self.capabilities.iter().map(|c| 4 + c.len()).sum::<usize>()
    }

    /// The canonical bytes: exactly what the signature covers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(DOMAIN);
        out.push(self.version);
        out.extend_from_slice(&self.issuer_key);
        put_str(&mut out, &self.mesh_id);
        put_str(&mut out, &self.grantee_peer_id);
        out.extend_from_slice(&self.grantee_key);
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        // Limits keep every length far below u32::MAX, so these casts are exact.
        out.extend_from_slice(&(self.capabilities.len() as u32).to_be_bytes());
        for capability in &self.capabilities {
            put_str(&mut out, capability);
        }
        out
    }

    /// Parses canonical body bytes, rejecting anything that is not exactly the
    /// encoding [`GrantBody::to_bytes`] would produce.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() + SIGNATURE_LEN > MAX_GRANT_BYTES {
            return Err(LimitError::TooLarge {
                len: bytes.len() + SIGNATURE_LEN,
            }
            .into());
        }
        let mut r = Reader { rest: bytes };
        if r.take(DOMAIN.len())? != DOMAIN {
            return Err(DecodeError::BadDomain);
        }
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let issuer_key = r.key()?;
        let mesh_id = r.string("mesh_id")?;
        let grantee_peer_id = r.string("grantee_peer_id")?;
        let grantee_key = r.key()?;
        let issued_at_ms = r.u64()?;
        let expires_at_ms = r.u64()?;
        let epoch = r.u64()?;
        let count = r.u32()? as usize;
        if count > MAX_CAPABILITIES {
            return Err(LimitError::TooManyCapabilities { count }.into());
        }
        // Each capability takes at least its 4-byte length, so this bounds the
        // allocation by the input size as well as by the count limit.
        let mut capabilities = Vec::with_capacity(count.min(r.rest.len() / 4));
        for _ in 0..count {
            let capability = r.string("capability")?;
            if capabilities
                .last()
                .is_some_and(|prev: &String| *prev >= capability)
            {
                return Err(DecodeError::NonCanonicalCapabilities);
            }
            capabilities.push(capability);
        }
        if !r.rest.is_empty() {
            return Err(DecodeError::TrailingBytes(r.rest.len()));
        }
        Ok(Self {
            version,
            issuer_key,
            mesh_id,
            grantee_peer_id,
            grantee_key,
            capabilities,
            issued_at_ms,
            expires_at_ms,
            epoch,
        })
    }
}

fn check_string(field: &'static str, value: &str) -> Result<(), LimitError> {
    if value.len() > MAX_STRING_BYTES {
        return Err(LimitError::FieldTooLong {
            field,
            len: value.len(),
        });
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// A bounds-checked cursor: every read fails with `Truncated` instead of
/// indexing past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn key(&mut self) -> Result<[u8; 32], DecodeError> {
        self.array()
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u32()? as usize;
        // Checked before `take`, so an absurd length is a limit error, not a
        // truncation, and nothing is allocated for it.
        if len > MAX_STRING_BYTES {
            return Err(LimitError::FieldTooLong { field, len }.into());
        }
        let raw = self.take(len)?;
        let text = std::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 { field })?;
        Ok(text.to_owned())
    }
}

/// A grant body with the issuer's ed25519 signature over its canonical bytes.
///
/// Holding one proves nothing: run it through [`crate::verify`] or
/// [`crate::authorize`] before trusting any field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedGrant {
    /// What was signed.
    pub body: GrantBody,
    /// Ed25519 signature over [`SignedGrant::signed_bytes`].
    pub signature: [u8; 64],
}

impl SignedGrant {
    /// Signs `body` with `issuer`. The body's issuer key should be
    /// `issuer.verifying_key()`; if it is not, the grant fails verification
    /// with `BadSignature`. Prefer [`issue_grant`], which cannot get this wrong.
    pub fn sign(body: GrantBody, issuer: &SigningKey) -> Self {
        let signature = issuer.sign(&body.to_bytes()).to_bytes();
        Self { body, signature }
    }

    /// The exact bytes the signature covers (the canonical body encoding).
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.body.to_bytes()
    }

    /// Transport form: unpadded base64url of `signed_bytes() || signature`.
    pub fn to_text(&self) -> String {
        let mut bytes = self.signed_bytes();
        bytes.extend_from_slice(&self.signature);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses the transport form. Checks structure only; the signature is
    /// checked by [`crate::verify`].
    pub fn from_text(text: &str) -> Result<Self, DecodeError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(LimitError::TooLarge {
                len: text.len() / 4 * 3,
            }
            .into());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| DecodeError::BadBase64)?;
        if bytes.len() < SIGNATURE_LEN {
            return Err(DecodeError::Truncated);
        }
        let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let body = GrantBody::from_bytes(body)?;
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(signature);
        Ok(Self {
            body,
            signature: sig,
        })
    }
}

/// Builds and signs a grant in one step, taking the issuer key from `issuer`.
pub fn issue_grant(issuer: &SigningKey, spec: GrantSpec) -> Result<SignedGrant, LimitError> {
    let body = GrantBody::new(issuer.verifying_key().to_bytes(), spec)?;
    Ok(SignedGrant::sign(body, issuer))
}
