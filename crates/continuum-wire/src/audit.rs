//! What an audit record says about one gate decision. Shared by the daemon's
//! gate (which writes events), its stores (which seal them into a hash chain)
//! and clients (which read them from `audit/tail`).

use serde::{Deserialize, Serialize};

/// Whether a decision let the call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call ran.
    Allowed,
    /// The call was refused.
    Denied,
}

impl Outcome {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// One decision to record, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// Who called (a label such as `owner` or `peer:bob`; never a secret).
    pub caller: String,
    /// For a peer, the ed25519 key its connection proved (hex): the identity
    /// the decision was really about, whatever id the peer chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_key: Option<String>,
    /// The command.
    pub command: String,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// Why: `trust`, `grant`, or a reason code (see docs/reason-codes.md).
    pub reason: String,
    /// On whose behalf, as the caller claimed. Recorded, never authorizing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// The issuer key (hex) of the grant that admitted the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_issuer: Option<String>,
    /// The epoch of the grant that admitted the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_epoch: Option<u64>,
}
