//! The one verdict type for the whole authorization pipeline.

use crate::body::DecodeError;

/// Why a presented grant does not authorize a command, in pipeline order.
///
/// Each variant has a stable [`code`](GrantVerdict::code) for audit logs; the
/// `Display` text is for people and may change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantVerdict {
    /// The grant text could not be decoded.
    #[error("grant is malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// The issuer key is not one of the pinned trusted issuers.
    #[error("grant issuer is not trusted")]
    UntrustedIssuer,
    /// The signature does not verify strictly under the issuer key (this
    /// includes an issuer key that is not a valid curve point).
    #[error("grant signature is invalid")]
    BadSignature,
    /// The key the grant was presented with is not the grantee key: the grant
    /// is someone else's.
    #[error("grant was presented by a key other than its grantee's")]
    KeyMismatch,
    /// The grant is for another mesh.
    #[error("grant is for mesh {actual:?}, expected {expected:?}")]
    WrongMesh {
        /// The mesh this node is in.
        expected: String,
        /// The mesh named in the grant.
        actual: String,
    },
    /// The grant expires at or before it is issued.
    #[error("grant validity window is empty (expires at or before issue)")]
    InvalidWindow,
    /// The grant starts later than now plus the allowed clock skew.
    #[error("grant is not valid until {issued_at_ms} (now {now_ms})")]
    NotYetValid {
        /// Start of validity.
        issued_at_ms: u64,
        /// The verifier's clock.
        now_ms: u64,
    },
    /// The grant ended earlier than now minus the allowed clock skew.
    #[error("grant expired at {expires_at_ms} (now {now_ms})")]
    Expired {
        /// End of validity.
        expires_at_ms: u64,
        /// The verifier's clock.
        now_ms: u64,
    },
    /// A grant with a higher epoch has been seen for this grantee; this one is
    /// replaced or revoked.
    #[error("grant epoch {presented} is superseded by epoch {watermark}")]
    Superseded {
        /// Highest epoch seen for the grantee.
        watermark: u64,
        /// Epoch of the presented grant.
        presented: u64,
    },
    /// The epoch store failed; the replay status is unknown, so deny.
    #[error("epoch watermark store unavailable: {0}")]
    StoreUnavailable(String),
    /// The grant is valid but confers no capability covering the command.
    #[error("grant does not confer {command:?}")]
    NotGranted {
        /// The command that was asked for.
        command: String,
    },
}

impl GrantVerdict {
    /// Stable snake_case name for audit logs and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::BadSignature => "bad_signature",
            Self::KeyMismatch => "key_mismatch",
            Self::WrongMesh { .. } => "wrong_mesh",
            Self::InvalidWindow => "invalid_window",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::Superseded { .. } => "superseded",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::NotGranted { .. } => "not_granted",
        }
    }
}
