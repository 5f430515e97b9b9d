//! The node's identity: an ed25519 key made at first start, plus a logical
//! node id and the mesh id, which stay put when the key rotates.
//!
//! Layout under `<home>/identity/` (directory 0700):
//! - `node.key`: the 32-byte secret seed, hex, mode 0600. Never logged, never
//!   returned by a command. A key file readable by others is refused, as ssh
//!   does, rather than silently used.
//! - `node.toml`: `node_id` and `mesh_id` (not secret). The owner may edit
//!   `mesh_id` to join a mesh until pairing (which sets it) exists.

use crate::keyfile::{create_key, read_key, write_atomically};
use continuum_grant::{issue_grant, GrantSpec, LimitError, SignedGrant};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

const KEY_FILE: &str = "node.key";
const INFO_FILE: &str = "node.toml";

/// Why the identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Filesystem trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The key file is readable or writable by others.
    #[error("{path} has mode {mode:o}; the node key must be owner-only (chmod 600 {path})")]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file exists but does not hold what it should.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct NodeInfo {
    node_id: String,
    mesh_id: String,
}

/// This node's key pair and names.
pub struct NodeIdentity {
    key: SigningKey,
    node_id: String,
    mesh_id: String,
}

// By hand, so the secret can never reach a log through `{:?}`.
impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node_id", &self.node_id)
            .field("mesh_id", &self.mesh_id)
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// Loads the identity in `dir`, creating whatever is missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, IdentityError> {
        let io_at = |path: &Path| {
            let path = path.to_owned();
            move |source| IdentityError::Io { path, source }
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_at(dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_at(dir))?;

        let key_path = dir.join(KEY_FILE);
        let key = match read_key(&key_path) {
            Ok(key) => key,
            Err(IdentityError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                let key = create_key(&key_path)?;
                tracing::info!(path = %key_path.display(), "created the node identity key");
                key
            }
            Err(err) => return Err(err),
        };

        let info_path = dir.join(INFO_FILE);
        let info = match std::fs::read_to_string(&info_path) {
            Ok(text) => {
                let info: NodeInfo =
                    toml::from_str(&text).map_err(|err| IdentityError::Corrupt {
                        path: info_path.clone(),
                        reason: err.to_string(),
                    })?;
                for (name, value) in [("node_id", &info.node_id), ("mesh_id", &info.mesh_id)] {
                    if value.trim().is_empty() {
                        return Err(IdentityError::Corrupt {
                            path: info_path.clone(),
                            reason: format!("{name} is empty"),
                        });
                    }
                }
                info
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                // A node starts alone, in a mesh of its own.
                let info = NodeInfo {
                    node_id: format!("node-{}", random_hex(8)),
                    mesh_id: format!("mesh-{}", random_hex(8)),
                };
                let text = toml::to_string(&info).expect("two strings serialize");
                write_atomically(&info_path, text.as_bytes(), 0o644).map_err(io_at(&info_path))?;
                info
            }
            Err(err) => return Err(io_at(&info_path)(err)),
        };
        Ok(NodeIdentity {
            key,
            node_id: info.node_id,
            mesh_id: info.mesh_id,
        })
    }

    /// The ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The stable logical node id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The mesh this node belongs to.
    pub fn mesh_id(&self) -> &str {
        &self.mesh_id
    }

    /// Signs a grant with this node's key. The key itself never leaves
    /// this type.
    pub fn sign_grant(&self, spec: GrantSpec) -> Result<SignedGrant, LimitError> {
        issue_grant(&self.key, spec)
    }

    /// Signs "the audit chain's `point` is record `seq` with hash `hash`".
    /// The message is domain-separated per point, so the signature can serve
    /// nothing else.
    pub fn sign_audit(&self, point: AuditPoint, seq: u64, hash: &str) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(&audit_message(point, seq, hash)).to_bytes()
    }

    /// Signs a TLS 1.3 CertificateVerify message (RFC 8446 §4.4.3) for the
    /// grid handshake; `None` for anything else. Only messages that begin
    /// with 64 `0x20` bytes and a TLS 1.3 CertificateVerify context string
    /// are signed, so the TLS stack can never make the node key sign a
    /// grant, an audit checkpoint or a rotation statement (all of which
    /// begin with a `continuum-...` domain).
    pub(crate) fn sign_tls13_certificate_verify(&self, message: &[u8]) -> Option<[u8; 64]> {
        use ed25519_dalek::Signer;
        const PAD: [u8; 64] = [0x20; 64];
        const CONTEXTS: [&[u8]; 2] = [
            b"TLS 1.3, server CertificateVerify\0",
            b"TLS 1.3, client CertificateVerify\0",
        ];
        let rest = message.strip_prefix(&PAD[..])?;
        if !CONTEXTS.iter().any(|context| rest.starts_with(context)) {
            return None;
        }
        Some(self.key.sign(message).to_bytes())
    }

    /// Whether `signature` is this node's (strictly verified) signature of
    /// the audit `point` `seq`, `hash`.
    pub fn verifies_audit(
        &self,
        point: AuditPoint,
        seq: u64,
        hash: &str,
        signature: &[u8; 64],
    ) -> bool {
        self.key
            .verifying_key()
            .verify_strict(
                &audit_message(point, seq, hash),
                &ed25519_dalek::Signature::from_bytes(signature),
            )
            .is_ok()
    }
}

/// Which end of the audit chain a checkpoint vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditPoint {
    /// The newest record.
    Head,
    /// The last record retention dropped (the chain starts after it).
    Base,
}

/// The signed bytes of an audit checkpoint.
fn audit_message(point: AuditPoint, seq: u64, hash: &str) -> Vec<u8> {
    let domain: &[u8] = match point {
        AuditPoint::Head => b"continuum-audit-head/1\0",
        AuditPoint::Base => b"continuum-audit-base/1\0",
    };
    let mut message = domain.to_vec();
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash.as_bytes());
    message
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_an_owner_only_key_and_later_starts_reuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let identity_dir = dir.path().join("identity");
        let first = NodeIdentity::load_or_create(&identity_dir).unwrap();
        let mode = |name: &str| {
            std::fs::metadata(identity_dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(KEY_FILE), 0o600);
        assert_eq!(
            std::fs::metadata(&identity_dir)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let again = NodeIdentity::load_or_create(&identity_dir).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(first.node_id(), again.node_id());
        assert_eq!(first.mesh_id(), again.mesh_id());
        assert!(first.node_id().starts_with("node-"));
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let identity = NodeIdentity::load_or_create(dir.path()).unwrap();
        let secret = hex::encode(identity.key.to_bytes());
        assert!(!format!("{identity:?}").contains(&secret));
        assert!(format!("{identity:?}").contains(&hex::encode(identity.public_key())));
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        NodeIdentity::load_or_create(dir.path()).unwrap();
        let key = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = NodeIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(err, IdentityError::KeyPermissions { mode: 0o644, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_key_is_a_clear_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        NodeIdentity::load_or_create(dir.path()).unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not hex").unwrap();
        let err = NodeIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, IdentityError::Corrupt { .. }), "{err}");
    }
}
