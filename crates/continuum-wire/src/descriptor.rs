//! Command descriptors: the self-description every command publishes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who may call a command. Ordered from most open to most restricted.
///
/// A command that does not declare its access is [`Access::OwnerOnly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Safe for AI personas and other Provisional callers.
    AiSafe,
    /// Needs a Trusted caller (or a grant conferring it).
    Trusted,
    /// Only the local owner; never reachable remotely, by any grant.
    OwnerOnly,
}

impl Access {
    /// Stable lowercase name, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::AiSafe => "ai_safe",
            Access::Trusted => "trusted",
            Access::OwnerOnly => "owner_only",
        }
    }
}

/// How much a caller is trusted. Ordered: `Blocked < Provisional < Trusted < Owner`.
///
/// On the wire it names a caller's level (`system/info`, audit records) and the
/// ceiling a client asks for with `meta.maxTrust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// May call nothing.
    Blocked,
    /// AI-safe commands only (personas, TCP callers, unknown peers).
    Provisional,
    /// AI-safe and Trusted commands.
    Trusted,
    /// Everything. Only the local owner on the Unix socket.
    Owner,
}

impl Trust {
    /// Every level, lowest first.
    pub const ALL: [Trust; 4] = [
        Trust::Blocked,
        Trust::Provisional,
        Trust::Trusted,
        Trust::Owner,
    ];

    /// Stable lowercase name, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Blocked => "blocked",
            Trust::Provisional => "provisional",
            Trust::Trusted => "trusted",
            Trust::Owner => "owner",
        }
    }

    /// The level named `name` (`provisional`, ...).
    pub fn parse(name: &str) -> Option<Trust> {
        Trust::ALL.into_iter().find(|trust| trust.as_str() == name)
    }
}

/// Everything a client needs to call a command correctly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CommandDescriptor {
    /// Slash-separated name, e.g. `data/list`. Also the JSON-RPC method.
    pub name: String,
    /// One-line human description.
    pub description: String,
    /// Who may call it.
    pub access: Access,
    /// JSON Schema (2020-12) of the params object.
    pub params_schema: Value,
    /// JSON Schema (2020-12) of the result.
    pub result_schema: Value,
    /// Whether the command may send `$/stream` notifications before its result.
    #[serde(default)]
    pub streaming: bool,
    /// Whether it overwrites or deletes data. Destructive commands are always
    /// owner-only (the registry refuses to boot otherwise).
    #[serde(default)]
    pub destructive: bool,
    /// Whether it only reads: it changes no store, sends nothing and starts
    /// nothing. Absent means false, the safe default (a missing mark costs
    /// a client's confirmation prompt, never a silent write). Never set
    /// together with `destructive` (the registry refuses to boot).
    #[serde(default)]
    pub read_only: bool,
}
