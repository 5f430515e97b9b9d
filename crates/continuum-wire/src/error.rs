//! Stable error codes. Numbers and `kind` strings never change meaning once
//! released; clients switch on them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Every error the daemon can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame was not valid JSON.
    ParseError,
    /// Valid JSON, but not a JSON-RPC 2.0 request.
    InvalidRequest,
    /// No command has this name.
    MethodNotFound,
    /// Params failed validation; `data.field` names the field.
    InvalidParams,
    /// A bug: a handler panicked or an invariant broke.
    Internal,
    /// The caller may not run this command.
    Forbidden,
    /// The thing the command addresses does not exist.
    NotFound,
    /// The command conflicts with existing state.
    Conflict,
    /// The command ran out of time.
    Timeout,
    /// The command's concurrency limit is reached.
    Overloaded,
    /// A store or dependency the command needs is unavailable.
    Unavailable,
    /// An upstream service (e.g. an inference provider) failed.
    Upstream,
    /// The frame exceeded the size limit.
    FrameTooLarge,
    /// The daemon is shutting down and accepts no new work.
    ShuttingDown,
    /// A tamper-evident record failed its check (e.g. the audit chain);
    /// `data.detail` says where.
    Tampered,
}

impl ErrorCode {
    /// All codes, for documentation and exhaustive tests.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::ParseError,
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::Internal,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::Timeout,
        ErrorCode::Overloaded,
        ErrorCode::Unavailable,
        ErrorCode::Upstream,
        ErrorCode::FrameTooLarge,
        ErrorCode::ShuttingDown,
        ErrorCode::Tampered,
    ];

    /// The numeric JSON-RPC code.
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::MethodNotFound => -32601,
            ErrorCode::InvalidParams => -32602,
            ErrorCode::Internal => -32603,
            ErrorCode::Forbidden => -32000,
            ErrorCode::NotFound => -32001,
            ErrorCode::Conflict => -32002,
            ErrorCode::Timeout => -32003,
            ErrorCode::Overloaded => -32004,
            ErrorCode::Unavailable => -32005,
            ErrorCode::Upstream => -32006,
            ErrorCode::FrameTooLarge => -32007,
            ErrorCode::ShuttingDown => -32008,
            ErrorCode::Tampered => -32009,
        }
    }

    /// The stable snake_case name carried in `error.data.kind`.
    pub fn kind(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "parse_error",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::MethodNotFound => "method_not_found",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::Internal => "internal",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Upstream => "upstream",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Tampered => "tampered",
        }
    }

    /// Looks a code up by its number.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// Structured detail in `error.data`. Every field but `kind` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    /// Stable name of the error code (`invalid_params`, ...).
    pub kind: String,
    /// The field at fault, as a JSON pointer into params (`/count`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why it failed, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Did-you-mean suggestions (unknown command names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    /// Anything else the error wants to say, machine-readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// Numeric code, see [`ErrorCode::code`].
    pub code: i32,
    /// Human-readable message.
    pub message: String,
    /// Structured detail. Boxed: errors are the cold path, and this keeps
    /// every `Result<_, RpcError>` small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<ErrorData>>,
}

impl RpcError {
    /// An error of `code` with a message and `data.kind` filled in.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RpcError {
            code: code.code(),
            message: message.into(),
            data: Some(Box::new(ErrorData {
                kind: code.kind().to_owned(),
                ..ErrorData::default()
            })),
        }
    }

    /// Sets `data.field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.data_mut().field = Some(field.into());
        self
    }

    /// Sets `data.reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.data_mut().reason = Some(reason.into());
        self
    }

    /// Sets `data.suggestions`.
    pub fn with_suggestions(mut self, suggestions: Vec<String>) -> Self {
        self.data_mut().suggestions = suggestions;
        self
    }

    /// Sets `data.detail`.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.data_mut().detail = Some(detail);
        self
    }

    /// The typed code, if the number is one of ours.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    fn data_mut(&mut self) -> &mut ErrorData {
        let kind = ErrorCode::from_code(self.code).map_or("unknown", ErrorCode::kind);
        self.data.get_or_insert_with(|| {
            Box::new(ErrorData {
                kind: kind.to_owned(),
                ..ErrorData::default()
            })
        })
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(data) = &self.data {
            if let Some(field) = &data.field {
                write!(f, " (field {field})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_kinds_are_unique() {
        let mut codes: Vec<i32> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let mut kinds: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.kind()).collect();
        codes.sort_unstable();
        codes.dedup();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert_eq!(kinds.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn codes_round_trip_through_their_numbers() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        }
    }

    #[test]
    fn released_codes_never_change() {
        // Clients depend on these numbers; changing one is a breaking change.
        assert_eq!(ErrorCode::InvalidParams.code(), -32602);
        assert_eq!(ErrorCode::MethodNotFound.code(), -32601);
        assert_eq!(ErrorCode::Forbidden.code(), -32000);
        assert_eq!(ErrorCode::FrameTooLarge.code(), -32007);
    }
}
