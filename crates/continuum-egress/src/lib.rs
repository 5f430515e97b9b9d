//! `continuum-egress`: which upstream hosts each adapter may reach. Every
//! adapter that opens a connection (inference providers, S3 and STS) asks
//! its [`EgressPolicy`] first, with its own name and the host; a refusal
//! is an [`EgressDenied`] error, and the daemon's policy records it in the
//! audit log. Pure: the policy decides, the adapters connect.
//!
//! The daemon's rules ([`HostRules`], `[egress]` in `config.toml`):
//!
//! ```toml
//! [egress]
//! allow = ["openrouter.ai", "*.amazonaws.com", "127.0.0.1"]  # every adapter
//! [egress.adapters.router]                                    # one adapter
//! allow = ["openrouter.ai"]
//! ```
//!
//! Without an `[egress]` section every host is allowed (the configured
//! providers are the owner's choice). With one, a host must match the
//! adapter's own list when it has one, else the shared list.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("egress to {host} is not allowed for {adapter} (add it to [egress] in config.toml)")]
pub struct EgressDenied {
    /// The adapter that asked (a provider name, `s3`, `sts`).
    pub adapter: String,
    /// The host it wanted.
    pub host: String,
}

/// Decides whether `adapter` may connect to `host`.
pub trait EgressPolicy: Send + Sync {
    /// `Ok` to connect, or why not. Called before every connection attempt.
    fn check(&self, adapter: &str, host: &str) -> Result<(), EgressDenied>;
}

/// Every host, for every adapter (no `[egress]` section; tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl EgressPolicy for AllowAll {
    fn check(&self, _adapter: &str, _host: &str) -> Result<(), EgressDenied> {
        Ok(())
    }
}

/// `[egress]`: allow lists of host patterns, shared and per adapter. A
/// pattern is a host name or address (`openrouter.ai`, `127.0.0.1`), or
/// `*.` and a domain (`*.amazonaws.com`, which matches its subdomains but
/// not the domain itself). Names compare without case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRules {
    /// Hosts every adapter may reach (unless it has its own list).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Per adapter: its own list, which replaces the shared one.
    #[serde(default)]
    pub adapters: BTreeMap<String, AdapterRules>,
}

/// One adapter's own allow list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterRules {
    /// Hosts this adapter may reach.
    #[serde(default)]
    pub allow: Vec<String>,
}

impl HostRules {
    /// The first pattern that is not a host or `*.domain`, if any.
    pub fn invalid_pattern(&self) -> Option<&str> {
        self.allow
            .iter()
            .chain(self.adapters.values().flat_map(|rules| rules.allow.iter()))
            .map(String::as_str)
            .find(|pattern| !valid_pattern(pattern))
    }
}

impl EgressPolicy for HostRules {
    fn check(&self, adapter: &str, host: &str) -> Result<(), EgressDenied> {
        let list = self
            .adapters
            .get(adapter)
            .map_or(&self.allow, |rules| &rules.allow);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if list.iter().any(|pattern| matches(pattern, host)) {
            Ok(())
        } else {
            Err(EgressDenied {
                adapter: adapter.to_owned(),
                host: host.to_owned(),
            })
        }
    }
}

fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> HostRules {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn hosts_match_exactly_or_as_subdomains() {
        let rules = rules(r#"allow = ["openrouter.ai", "*.amazonaws.com", "127.0.0.1", "::1"]"#);
        for host in [
            "openrouter.ai",
            "OpenRouter.AI",
            "s3.eu-west-1.amazonaws.com",
            "127.0.0.1",
            "[::1]",
        ] {
            assert!(rules.check("router", host).is_ok(), "{host}");
        }
        for host in [
            "evil.example",
            "amazonaws.com",
            "notamazonaws.com",
            "openrouter.ai.evil.example",
            "127.0.0.2",
        ] {
            let denied = rules.check("router", host).unwrap_err();
            assert_eq!(denied.host, host.trim_matches(|c| c == '[' || c == ']'));
        }
    }

    #[test]
    fn an_adapters_own_list_replaces_the_shared_one() {
        let rules =
            rules("allow = [\"127.0.0.1\"]\n[adapters.router]\nallow = [\"openrouter.ai\"]\n");
        assert!(rules.check("router", "openrouter.ai").is_ok());
        assert!(rules.check("router", "127.0.0.1").is_err());
        assert!(rules.check("local", "127.0.0.1").is_ok());
        assert!(rules.check("local", "openrouter.ai").is_err());
    }

    #[test]
    fn bad_patterns_are_found_and_unknown_keys_refused() {
        assert_eq!(
            rules(r#"allow = ["ok.example", "bad host"]"#).invalid_pattern(),
            Some("bad host")
        );
        assert!(toml::from_str::<HostRules>("deny = []").is_err());
        assert!(AllowAll.check("x", "anything").is_ok());
    }
}
