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
//!
//! ```toml
//! [transport]             # the remote listeners (TCP, peers)
//! max_connections = 64    # per listener; more are refused
//! max_in_flight = 32      # per connection; reading pauses beyond
//! write_timeout_ms = 30000  # answers unread this long: the connection is dropped
//! idle_timeout_ms = 120000  # nothing in flight, no complete frame: dropped
//! max_requests_per_second = 200  # per connection; beyond, `overloaded`
//!
//! [audit]
//! keep_records = 1000000  # retention: older records are dropped (signed base)
//! ```

use continuum_ipc::ListenerLimits;
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
    /// Limits of the remote listeners (TCP and peers).
    #[serde(default)]
    pub transport: TransportLimits,
    /// Audit log retention.
    #[serde(default)]
    pub audit: AuditRetention,
    /// How personas answer: concurrency, rate, tool rounds, context size.
    #[serde(default)]
    pub personas: continuum_persona::AnswerSettings,
    /// Which upstream hosts adapters may reach; absent allows every host.
    #[serde(default)]
    pub egress: Option<continuum_egress::HostRules>,
}

/// `[audit]`: how much of the audit log to keep.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRetention {
    /// Keep at most this many of the newest records (checked every ten
    /// minutes and at start); absent keeps everything. Dropped records stay
    /// accounted for: the chain verifies from a base the node key signs.
    pub keep_records: Option<u64>,
    /// How often the log is shipped to the audit bucket, when storage is
    /// S3 (default 10000 ms; and once more at shutdown).
    pub ship_interval_ms: Option<u64>,
}

impl AuditRetention {
    /// The shipping interval.
    pub fn ship_interval(&self) -> Duration {
        Duration::from_millis(self.ship_interval_ms.unwrap_or(10_000).max(100))
    }
}

/// `[transport]`: what one remote listener and each of its connections may
/// hold. Absent values keep the defaults (`continuum_ipc::ListenerLimits::REMOTE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportLimits {
    /// Connections at once per remote listener.
    pub max_connections: Option<usize>,
    /// Requests in flight per remote connection.
    pub max_in_flight: Option<usize>,
    /// A remote connection whose answers go unread this long is dropped.
    pub write_timeout_ms: Option<u64>,
    /// A remote connection with nothing in flight and no complete frame for
    /// this long is dropped.
    pub idle_timeout_ms: Option<u64>,
    /// Requests per second per remote connection; beyond, `overloaded`.
    pub max_requests_per_second: Option<u32>,
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
        let config: DaemonConfig = toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        if let Some(bad) = config
            .egress
            .as_ref()
            .and_then(|rules| rules.invalid_pattern())
        {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                message: format!("[egress]: '{bad}' is not a host or *.domain pattern"),
            });
        }
        Ok(config)
    }

    /// The remote listeners' limits: the defaults with `[transport]` applied.
    pub fn remote_limits(&self, max_frame_bytes: usize) -> ListenerLimits {
        let t = &self.transport;
        let mut limits = ListenerLimits::REMOTE;
        limits.max_connections = t.max_connections.unwrap_or(limits.max_connections).max(1);
        let connection = &mut limits.connection;
        connection.max_frame_bytes = max_frame_bytes;
        connection.max_in_flight = t.max_in_flight.unwrap_or(connection.max_in_flight).max(1);
        if let Some(ms) = t.write_timeout_ms {
            connection.write_timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = t.idle_timeout_ms {
            connection.idle_timeout = Some(Duration::from_millis(ms.max(1)));
        }
        if let Some(rate) = t.max_requests_per_second {
            connection.max_requests_per_second = Some(rate.max(1));
        }
        limits
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
