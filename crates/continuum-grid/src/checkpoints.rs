//! The audit log's anchor: after every commit, the node key signs the chain's
//! head (`seq`, `hash`) into `<home>/data/audit.anchor`, a file beside the
//! database, not inside it; after retention drops old records, it signs the
//! new base into `audit.base`. Deleting the newest records, replacing them
//! with a consistent but different ending, or dropping old records behind
//! retention's back then no longer matches what was signed, and the log
//! says so (`continuum-store`'s `AuditAnchor`).

use crate::{AuditPoint, NodeIdentity};
use continuum_store::{AuditAnchor, StoreError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;

/// The anchor file's contents.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    seq: u64,
    hash: String,
    /// ed25519 signature by the node key (hex).
    signature: String,
}

/// The audit anchor kept by this node: signed with its key, in two files.
pub struct AuditCheckpoints {
    identity: Arc<NodeIdentity>,
    head: PathBuf,
    base: PathBuf,
}

impl AuditCheckpoints {
    /// Checkpoints signed by `identity`, kept at `head` and beside it with
    /// the extension `base` (both 0600).
    pub fn new(identity: Arc<NodeIdentity>, head: PathBuf) -> Self {
        let base = head.with_extension("base");
        AuditCheckpoints {
            identity,
            head,
            base,
        }
    }

    fn path(&self, point: AuditPoint) -> &PathBuf {
        match point {
            AuditPoint::Head => &self.head,
            AuditPoint::Base => &self.base,
        }
    }

    fn write(&self, point: AuditPoint, seq: u64, hash: &str) -> Result<(), StoreError> {
        let checkpoint = Checkpoint {
            seq,
            hash: hash.to_owned(),
            signature: hex::encode(self.identity.sign_audit(point, seq, hash)),
        };
        let text = serde_json::to_vec(&checkpoint).map_err(|err| backend("encode", err))?;
        let path = self.path(point);
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|err| backend("write", err))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|err| backend("write", err))?;
        std::fs::rename(&tmp, path).map_err(|err| backend("write", err))?;
        // The rename itself must survive a power cut too.
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| backend("write", err))?;
        }
        Ok(())
    }

    fn read(&self, point: AuditPoint) -> Result<Option<(u64, String)>, StoreError> {
        let text = match std::fs::read(self.path(point)) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(backend("read", err)),
        };
        let checkpoint: Checkpoint =
            serde_json::from_slice(&text).map_err(|err| backend("unreadable", err))?;
        let signature: [u8; 64] = hex::decode(&checkpoint.signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| backend("unreadable", "the signature is not 128 hex characters"))?;
        if !self
            .identity
            .verifies_audit(point, checkpoint.seq, &checkpoint.hash, &signature)
        {
            return Err(backend(
                "forged",
                "its signature is not this node's; the anchor or the node key was replaced",
            ));
        }
        Ok(Some((checkpoint.seq, checkpoint.hash)))
    }
}

fn backend(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("audit anchor: {what}: {err}"))
}

impl AuditAnchor for AuditCheckpoints {
    fn seal(&self, seq: u64, hash: &str) -> Result<(), StoreError> {
        self.write(AuditPoint::Head, seq, hash)
    }

    fn last(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.read(AuditPoint::Head)
    }

    fn seal_base(&self, seq: u64, hash: &str) -> Result<(), StoreError> {
        self.write(AuditPoint::Base, seq, hash)
    }

    fn base(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.read(AuditPoint::Base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_a_forged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Arc::new(NodeIdentity::load_or_create(&dir.path().join("id")).unwrap());
        let anchor = AuditCheckpoints::new(Arc::clone(&identity), dir.path().join("audit.anchor"));
        assert_eq!(anchor.last().unwrap(), None);
        anchor.seal(7, "ab").unwrap();
        assert_eq!(anchor.last().unwrap(), Some((7, "ab".to_owned())));
        let text = std::fs::read_to_string(dir.path().join("audit.anchor")).unwrap();
        std::fs::write(
            dir.path().join("audit.anchor"),
            text.replace("\"seq\":7", "\"seq\":3"),
        )
        .unwrap();
        assert!(anchor.last().unwrap_err().to_string().contains("forged"));
        // A head signature does not pass as a base one.
        anchor.seal(9, "cd").unwrap();
        std::fs::copy(
            dir.path().join("audit.anchor"),
            dir.path().join("audit.base"),
        )
        .unwrap();
        assert!(anchor.base().unwrap_err().to_string().contains("forged"));
        anchor.seal_base(4, "ef").unwrap();
        assert_eq!(anchor.base().unwrap(), Some((4, "ef".to_owned())));
    }
}
