//! ed25519 secret keys on disk, one format for every identity this node
//! holds (the node's, each persona's): the 32-byte seed as 64 hex
//! characters, mode 0600. A key readable by others is refused, as ssh does;
//! an existing key is never overwritten.

use crate::IdentityError;
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Reads the key at `path`. Errors name the file and what is wrong; a
/// missing file is `Io` with `NotFound`.
pub fn read_key(path: &Path) -> Result<SigningKey, IdentityError> {
    let io_err = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::KeyPermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| IdentityError::Corrupt {
            path: path.to_owned(),
            reason: "expected 64 hex characters (a 32-byte ed25519 seed)".into(),
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Creates a new key at `path` (0600 from its first byte). Fails if a file
/// is already there: a key is never replaced. The key is written to a temp
/// file and hard-linked into place, which fails atomically if the path
/// exists, so two creators cannot both win.
pub fn create_key(path: &Path) -> Result<SigningKey, IdentityError> {
    let io_err = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let key = SigningKey::generate(&mut OsRng);
    let tmp = path.with_extension(format!("new-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(hex::encode(key.to_bytes()).as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(io_err)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(io_err)?;
    }
    Ok(key)
}

/// Writes `path` whole, with `mode` from its first byte (temp file, fsync,
/// rename, fsync of the directory), so a crash never leaves a half-written
/// file behind. Replaces what was there.
pub fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
