//! `storage.toml`: where memories, vault items and shipped audit segments
//! live. `storage = "sqlite"` (the default; no file needed) keeps
//! everything on this machine; `storage = "s3"` with an `[s3]` table
//! (`continuum_s3::S3Config`, ADR 0013) puts memories and vault items in
//! their buckets and ships the audit log to the audit bucket. The S3 side
//! is built with the default `s3` feature; without it, `"s3"` fails the
//! start with a clear error.

use crate::DaemonError;
use serde::Deserialize;
use std::path::Path;

/// The storage the home asks for.
#[derive(Debug)]
pub(crate) enum StorageChoice {
    /// Embedded SQLite (and each persona's home), nothing else needed.
    Sqlite,
    /// S3 by data class, with STS credentials per wallet.
    #[cfg(feature = "s3")]
    S3(Box<continuum_s3::S3Config>),
}

#[derive(Deserialize)]
struct Kind {
    #[serde(default)]
    storage: Option<String>,
}

impl StorageChoice {
    /// Reads `path`; a missing file is SQLite.
    pub(crate) fn load(path: &Path) -> Result<StorageChoice, DaemonError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StorageChoice::Sqlite)
            }
            Err(err) => {
                return Err(DaemonError::Storage(format!(
                    "cannot read storage.toml: {err}"
                )))
            }
        };
        let kind: Kind = toml::from_str(&text)
            .map_err(|err| DaemonError::Storage(format!("storage.toml: {err}")))?;
        match kind.storage.as_deref().unwrap_or("sqlite") {
            "sqlite" => Ok(StorageChoice::Sqlite),
            "s3" => s3(&text),
            other => Err(DaemonError::Storage(format!(
                "storage.toml: storage = \"{other}\" is not a storage; use \"sqlite\" or \"s3\""
            ))),
        }
    }
}

#[cfg(feature = "s3")]
fn s3(text: &str) -> Result<StorageChoice, DaemonError> {
    continuum_s3::S3Config::from_storage_toml(text)
        .map(|config| StorageChoice::S3(Box::new(config)))
        .map_err(|err| DaemonError::Storage(format!("storage.toml: {err}")))
}

#[cfg(not(feature = "s3"))]
fn s3(_: &str) -> Result<StorageChoice, DaemonError> {
    Err(DaemonError::Storage(
        "storage.toml asks for S3, but this continuum-core was built without the `s3` feature"
            .into(),
    ))
}
