//! The one error type handlers return, mapped to wire codes in exactly one place
//! (`From<CommandError> for RpcError`).

use continuum_wire::{ErrorCode, RpcError};
use serde_json::Value;

/// Why a command failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A param is wrong. `field` is a JSON pointer into the params.
    #[error("invalid params: {field}: {reason}")]
    InvalidParams {
        /// JSON pointer of the offending field (`""` = the whole object).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No command has this name.
    #[error("unknown command '{name}'")]
    MethodNotFound {
        /// The name asked for.
        name: String,
        /// Close names the caller may call.
        suggestions: Vec<String>,
    },
    /// The caller may not run this command.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Stable reason code (`insufficient_trust`, `owner_only`, a grant verdict...).
        reason: String,
        /// Human explanation.
        message: String,
    },
    /// The addressed thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Conflicts with current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A store or dependency is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An upstream service failed.
    #[error("upstream: {message}")]
    Upstream {
        /// What failed and what to do.
        message: String,
        /// Machine-readable detail (provider, status...).
        detail: Option<Value>,
    },
    /// The command exceeded its timeout.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The command's concurrency limit is reached.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// A tamper-evident record failed its check.
    #[error("tampered: {message}")]
    Tampered {
        /// What failed and where.
        message: String,
        /// The full report.
        detail: Value,
    },
    /// A bug (a panic, a broken invariant). The daemon keeps serving.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CommandError {
    /// A param error on `field` (a JSON pointer such as `/count`).
    pub fn invalid_params(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CommandError::InvalidParams {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The stable wire code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            CommandError::InvalidParams { .. } => ErrorCode::InvalidParams,
            CommandError::MethodNotFound { .. } => ErrorCode::MethodNotFound,
            CommandError::Forbidden { .. } => ErrorCode::Forbidden,
            CommandError::NotFound(_) => ErrorCode::NotFound,
            CommandError::Conflict(_) => ErrorCode::Conflict,
            CommandError::Unavailable(_) => ErrorCode::Unavailable,
            CommandError::Upstream { .. } => ErrorCode::Upstream,
            CommandError::Timeout(_) => ErrorCode::Timeout,
            CommandError::Overloaded(_) => ErrorCode::Overloaded,
            CommandError::ShuttingDown => ErrorCode::ShuttingDown,
            CommandError::Tampered { .. } => ErrorCode::Tampered,
            CommandError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<CommandError> for RpcError {
    fn from(err: CommandError) -> RpcError {
        let code = err.code();
        match err {
            CommandError::InvalidParams { field, reason } => {
                let shown = if field.is_empty() {
                    "params"
                } else {
                    field.as_str()
                };
                RpcError::new(code, format!("invalid params: {shown}: {reason}"))
                    .with_field(field)
                    .with_reason(reason)
            }
            CommandError::MethodNotFound { name, suggestions } => {
                let mut message = format!("unknown command '{name}'");
                if !suggestions.is_empty() {
                    message.push_str(&format!("; did you mean {}?", suggestions.join(", ")));
                }
                RpcError::new(code, message).with_suggestions(suggestions)
            }
            CommandError::Forbidden { reason, message } => {
                RpcError::new(code, format!("forbidden: {message}")).with_reason(reason)
            }
            CommandError::Tampered { message, detail } => {
                RpcError::new(code, format!("tampered: {message}")).with_detail(detail)
            }
            CommandError::Upstream { message, detail } => {
                let err = RpcError::new(code, message);
                match detail {
                    Some(detail) => err.with_detail(detail),
                    None => err,
                }
            }
            other => RpcError::new(code, other.to_string()),
        }
    }
}
