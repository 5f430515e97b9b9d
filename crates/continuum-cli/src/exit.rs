//! Exit codes. Scripts can tell these apart.

use continuum_wire::ErrorCode;

/// Success.
pub const OK: u8 = 0;
/// The command ran and failed (not found, conflict, upstream, internal...).
pub const FAILED: u8 = 1;
/// Usage error: bad flags, invalid params, unknown command.
pub const USAGE: u8 = 2;
/// The daemon is not running (or not reachable).
pub const NOT_RUNNING: u8 = 3;
/// The daemon refused the call (forbidden).
pub const REFUSED: u8 = 4;

/// The exit code for a daemon error.
pub fn for_error(code: Option<ErrorCode>) -> u8 {
    match code {
        Some(
            ErrorCode::InvalidParams
            | ErrorCode::MethodNotFound
            | ErrorCode::InvalidRequest
            | ErrorCode::ParseError,
        ) => USAGE,
        Some(ErrorCode::Forbidden) => REFUSED,
        Some(ErrorCode::ShuttingDown) => NOT_RUNNING,
        _ => FAILED,
    }
}
