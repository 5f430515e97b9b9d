//! `continuum-vault`: secrets sealed at rest, the twin of the grant crate.
//!
//! Pure: no files, no clock, no async; the only thing it asks of the OS is
//! randomness (salts and nonces). Stores keep the blobs; the daemon keeps
//! the master key and decides who may open what, and audits it first.
//!
//! The scheme (`docs/vault-format.md`, vectors in `test-vectors/v1.json`):
//! - a 32-byte **master key**: random (a 0600 key file) or Argon2id of a
//!   passphrase ([`MasterKey::from_passphrase`], RFC 9106 parameters);
//! - HKDF-SHA256 **extract** once per master key ([`VaultKey`], cached), and
//!   **expand** per item with the item's random 16-byte salt, so every blob
//!   has its own key;
//! - **XChaCha20-Poly1305** with a random 24-byte nonce (random nonces are
//!   safe at this size);
//! - the **associated data** binds the blob to its wallet, service and
//!   name: a blob copied to another wallet, service or name does not open.
//!
//! Blob: `version (1) || salt (16) || nonce (24) || ciphertext || tag (16)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2_011::Sha256;
use zeroize::Zeroizing;

/// The blob format this crate writes.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes of a master key.
pub const MASTER_KEY_LEN: usize = 32;
/// Bytes of a passphrase salt ([`MasterKey::from_passphrase`]).
pub const PASSPHRASE_SALT_LEN: usize = 16;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + SALT_LEN + NONCE_LEN;
/// Longest wallet, service or name bound into a blob.
pub const MAX_LABEL_LEN: usize = 255;
/// Largest secret sealed (provider keys and tokens are far smaller).
pub const MAX_SECRET_LEN: usize = 64 * 1024;

/// Domain separation: the HKDF extract salt, the expand info prefix, and
/// the associated data prefix.
const EXTRACT_SALT: &[u8] = b"continuum-vault/v1/extract";
const ITEM_INFO: &[u8] = b"continuum-vault/v1/item-key";
const AAD_PREFIX: &[u8] = b"continuum-vault/v1/aad";

/// Why sealing or opening failed. Opening never says *which* check failed:
/// a wrong key, wallet, service or name and a flipped bit look the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The blob is not a vault blob (too short, unknown version).
    #[error("not a vault blob: {0}")]
    Malformed(&'static str),
    /// The blob does not open with this key for this wallet, service and name.
    #[error("the blob does not open here (wrong key, wallet, service or name, or it was altered)")]
    Unopenable,
    /// A wallet, service or name is empty or longer than 255 bytes.
    #[error("{0} must be 1 to 255 bytes")]
    BadLabel(&'static str),
    /// The secret is empty or larger than 64 KiB.
    #[error("a secret must be 1 byte to 64 KiB")]
    BadSecret,
    /// The passphrase could not be stretched (Argon2 refused its input).
    #[error("passphrase: {0}")]
    Passphrase(String),
    /// The OS gave no randomness.
    #[error("no randomness from the OS: {0}")]
    Random(String),
}

/// The master key. Zeroed when dropped; never printed.
pub struct MasterKey(Zeroizing<[u8; MASTER_KEY_LEN]>);

impl MasterKey {
    /// A fresh random key (for a new key file).
    pub fn generate() -> Result<MasterKey, VaultError> {
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        fill_random(bytes.as_mut())?;
        Ok(MasterKey(bytes))
    }

    /// A key read back from its file.
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// The key stretched from a passphrase with Argon2id (RFC 9106's second
    /// recommended option: 64 MiB, 3 passes, 4 lanes), for headless set-ups
    /// with no key file. The same passphrase and salt give the same key.
    pub fn from_passphrase(
        passphrase: &[u8],
        salt: &[u8; PASSPHRASE_SALT_LEN],
    ) -> Result<MasterKey, VaultError> {
        let params = argon2::Params::new(64 * 1024, 3, 4, Some(MASTER_KEY_LEN))
            .map_err(|err| VaultError::Passphrase(err.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        argon
            .hash_password_into(passphrase, salt, bytes.as_mut())
            .map_err(|err| VaultError::Passphrase(err.to_string()))?;
        Ok(MasterKey(bytes))
    }

    /// The raw bytes, to write the key file (0600) and nothing else.
    pub fn expose_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// What a blob is bound to: only the same three open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// Whose secret it is (a persona or actor; the S3 prefix in class A).
    pub wallet: &'a str,
    /// The upstream it is for (`openrouter`, `anthropic`, ...).
    pub service: &'a str,
    /// The item's name within the wallet and service.
    pub name: &'a str,
}

impl Binding<'_> {
    fn check(&self) -> Result<(), VaultError> {
        for (what, label) in [
            ("wallet", self.wallet),
            ("service", self.service),
            ("name", self.name),
        ] {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(VaultError::BadLabel(what));
            }
        }
        Ok(())
    }

    /// The associated data: a prefix, the version, then each label with
    /// its length (so `("ab", "c")` and `("a", "bc")` differ).
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(
            AAD_PREFIX.len() + 4 + self.wallet.len() + self.service.len() + self.name.len(),
        );
        aad.extend_from_slice(AAD_PREFIX);
        aad.push(FORMAT_VERSION);
        for label in [self.wallet, self.service, self.name] {
            aad.push(label.len() as u8);
            aad.extend_from_slice(label.as_bytes());
        }
        aad
    }
}

/// A master key after the HKDF extract step: what seals and opens. Build
/// it once per master key and keep it (the extract is the cached KDF step).
pub struct VaultKey {
    prk: Hkdf<Sha256>,
}

impl VaultKey {
    /// The sealing key for `master`.
    pub fn new(master: &MasterKey) -> VaultKey {
        VaultKey {
            prk: Hkdf::<Sha256>::new(Some(EXTRACT_SALT), master.expose_bytes()),
        }
    }

    /// Seals `secret` for `binding`, with a fresh random salt and nonce.
    pub fn seal(&self, binding: &Binding<'_>, secret: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut salt)?;
        fill_random(&mut nonce)?;
        self.seal_with(binding, secret, &salt, &nonce)
    }

    /// Seals with a given salt and nonce. Only for test vectors: a nonce
    /// must never repeat under one item key.
    #[doc(hidden)]
    pub fn seal_with(
        &self,
        binding: &Binding<'_>,
        secret: &[u8],
        salt: &[u8; SALT_LEN],
        nonce: &[u8; NONCE_LEN],
    ) -> Result<Vec<u8>, VaultError> {
        binding.check()?;
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(VaultError::BadSecret);
        }
        let cipher = self.item_cipher(salt);
        let aad = binding.aad();
        let sealed = cipher
            .encrypt(
                &XNonce::from(*nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::BadSecret)?;
        let mut blob = Vec::with_capacity(HEADER_LEN + sealed.len());
        blob.push(FORMAT_VERSION);
        blob.extend_from_slice(salt);
        blob.extend_from_slice(nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Opens `blob` for `binding`: the secret, or [`VaultError::Unopenable`].
    pub fn open(&self, binding: &Binding<'_>, blob: &[u8]) -> Result<Secret, VaultError> {
        binding.check()?;
        if blob.len() < HEADER_LEN + TAG_LEN + 1 {
            return Err(VaultError::Malformed("too short"));
        }
        if blob[0] != FORMAT_VERSION {
            return Err(VaultError::Malformed("unknown version"));
        }
        let salt: &[u8; SALT_LEN] = blob[1..1 + SALT_LEN].try_into().expect("sliced to size");
        let nonce: [u8; NONCE_LEN] = blob[1 + SALT_LEN..HEADER_LEN]
            .try_into()
            .expect("sliced to size");
        let cipher = self.item_cipher(salt);
        let aad = binding.aad();
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &blob[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map(|plain| Secret(Zeroizing::new(plain)))
            .map_err(|_| VaultError::Unopenable)
    }

    /// The item's own cipher: HKDF expand of the cached PRK with its salt.
    fn item_cipher(&self, salt: &[u8; SALT_LEN]) -> XChaCha20Poly1305 {
        let mut key = Zeroizing::new([0u8; 32]);
        self.prk
            .expand_multi_info(&[ITEM_INFO, salt], key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        XChaCha20Poly1305::new_from_slice(key.as_ref()).expect("32-byte key")
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<redacted>)")
    }
}

/// An opened secret. Zeroed when dropped; `Debug` never shows it. Hand it
/// to the adapter that uses it, for that one request.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// The plaintext bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The plaintext as text (API keys are), if it is UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl From<Vec<u8>> for Secret {
    /// Takes the bytes over (no copy is left behind).
    fn from(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// Fills `buf` from the OS random source (salts, key files).
pub fn fill_random(buf: &mut [u8]) -> Result<(), VaultError> {
    getrandom::fill(buf).map_err(|err| VaultError::Random(err.to_string()))
}
