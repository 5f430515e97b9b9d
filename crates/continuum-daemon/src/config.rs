//! The daemon's configuration file, `<home>/config.toml`. Optional: without
//! it every command keeps the limits it declares.
//!
//! ```toml
//! [limits."ai/generate"]
//! timeout_ms = 120000     # longest one call may run
//! max_concurrency = 4     # calls running at once
//! max_wait_ms = 2000      # how long a call over the limit waits, then `overloaded`
//! ```
//!
//! A name that is not a registered command fails the boot (with did-you-mean),
//! so a typo never silently leaves a command unlimited.

use continuum_kernel::command::LimitOverride;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `config.toml` holds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Per-command limit overrides, by command name.
    #[serde(default)]
    pub limits: HashMap<String, CommandLimits>,
}

/// One command's limits in `config.toml`; what is absent keeps the
/// command's own default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandLimits {
    /// Longest a call may run, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Most calls running at once.
    pub max_concurrency: Option<usize>,
    /// How long a call over the limit waits for a slot, in milliseconds.
    pub max_wait_ms: Option<u64>,
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's complaint (names the key at fault).
        message: String,
    },
}

impl DaemonConfig {
    /// Reads `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<DaemonConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DaemonConfig::default())
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })
    }

    /// The limit overrides, as the kernel's registry takes them.
    pub fn limit_overrides(&self) -> HashMap<String, LimitOverride> {
        self.limits
            .iter()
            .map(|(name, limits)| {
                let override_ = LimitOverride {
                    timeout: limits.timeout_ms.map(Duration::from_millis),
                    max_concurrency: limits.max_concurrency,
                    max_wait: limits.max_wait_ms.map(Duration::from_millis),
                };
                (name.clone(), override_)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_default_and_a_typo_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(DaemonConfig::load(&path).unwrap().limits.is_empty());
        std::fs::write(&path, "[limits.\"ai/generate\"]\nmax_concurency = 2\n").unwrap();
        let err = DaemonConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("max_concurency"), "{err}");
        std::fs::write(
            &path,
            "[limits.\"ai/generate\"]\nmax_concurrency = 2\nmax_wait_ms = 10\n",
        )
        .unwrap();
        let overrides = DaemonConfig::load(&path).unwrap().limit_overrides();
        let generate = overrides["ai/generate"];
        assert_eq!(generate.max_concurrency, Some(2));
        assert_eq!(generate.max_wait, Some(Duration::from_millis(10)));
        assert_eq!(generate.timeout, None);
    }
}
