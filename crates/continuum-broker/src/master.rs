//! The master key: `identity/vault.key` (32 random bytes, 0600), made at
//! the first start; or, for headless set-ups with nowhere safe to keep a
//! file, a passphrase in `CONTINUUM_VAULT_PASSPHRASE`, stretched with
//! Argon2id over a salt kept in `identity/vault.salt` (not secret).
//!
//! A key file readable by group or others is refused, never "fixed": that
//! is a sign someone changed it.

use continuum_vault::{MasterKey, MASTER_KEY_LEN, PASSPHRASE_SALT_LEN};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The variable holding a vault passphrase (instead of a key file).
pub const PASSPHRASE_ENV: &str = "CONTINUUM_VAULT_PASSPHRASE";
const KEY_FILE: &str = "vault.key";
const SALT_FILE: &str = "vault.salt";

/// Where the master key came from (for the log; never the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterKeySource {
    /// Read from the key file.
    KeyFile,
    /// Made now, in a new key file.
    NewKeyFile,
    /// Stretched from the passphrase.
    Passphrase,
}

/// Why the master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The key file is readable by others.
    #[error(
        "{path} is mode {mode:o}; a vault key must be 0600 (restore it from a backup you trust)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// The key or salt file has the wrong size.
    #[error("{path} is {len} bytes, expected {expected}")]
    Size {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
        /// What it should be.
        expected: usize,
    },
    /// The passphrase could not be used.
    #[error("{PASSPHRASE_ENV}: {0}")]
    Passphrase(String),
}

/// The master key for the vault under `identity_dir`: from the
/// passphrase variable when it is set, else the key file (made if absent).
pub fn load_master_key(
    identity_dir: &Path,
) -> Result<(MasterKey, MasterKeySource), MasterKeyError> {
    if let Some(passphrase) = std::env::var_os(PASSPHRASE_ENV).filter(|p| !p.is_empty()) {
        let salt: [u8; PASSPHRASE_SALT_LEN] =
            read_or_create(&identity_dir.join(SALT_FILE), 0o644)?.0;
        let key = MasterKey::from_passphrase(passphrase.as_encoded_bytes(), &salt)
            .map_err(|err| MasterKeyError::Passphrase(err.to_string()))?;
        return Ok((key, MasterKeySource::Passphrase));
    }
    let path = identity_dir.join(KEY_FILE);
    let (bytes, created) = read_or_create::<MASTER_KEY_LEN>(&path, 0o600)?;
    let source = if created {
        MasterKeySource::NewKeyFile
    } else {
        MasterKeySource::KeyFile
    };
    Ok((MasterKey::from_bytes(bytes), source))
}

/// `N` bytes from `path`, or `N` fresh random bytes written there with
/// `mode` (create-new, so two starts can never both make one). A 0600 file
/// that others can read is refused.
fn read_or_create<const N: usize>(
    path: &Path,
    mode: u32,
) -> Result<([u8; N], bool), MasterKeyError> {
    let io_err = |source| MasterKeyError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            if mode == 0o600 {
                let found = std::fs::metadata(path)
                    .map_err(io_err)?
                    .permissions()
                    .mode()
                    & 0o777;
                if found & 0o077 != 0 {
                    return Err(MasterKeyError::Permissions {
                        path: path.to_owned(),
                        mode: found,
                    });
                }
            }
            let len = bytes.len();
            let array: [u8; N] = bytes.try_into().map_err(|_| MasterKeyError::Size {
                path: path.to_owned(),
                len,
                expected: N,
            })?;
            Ok((array, false))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let mut bytes = [0u8; N];
            fill_random(&mut bytes).map_err(io_err)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_err)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(path)
                .map_err(io_err)?;
            file.write_all(&bytes).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            Ok((bytes, true))
        }
        Err(err) => Err(io_err(err)),
    }
}

fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    continuum_vault::fill_random(buf).map_err(|err| io::Error::other(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_made_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = load_master_key(dir.path()).unwrap();
        assert_eq!(source, MasterKeySource::NewKeyFile);
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, source) = load_master_key(dir.path()).unwrap();
        assert_eq!(source, MasterKeySource::KeyFile);
        assert_eq!(first.expose_bytes(), again.expose_bytes());
    }

    #[test]
    fn a_key_file_others_can_read_or_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        load_master_key(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_master_key(dir.path()),
            Err(MasterKeyError::Permissions { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            load_master_key(dir.path()),
            Err(MasterKeyError::Size { len: 5, .. })
        ));
    }
}
