//! Printing results: pretty on a terminal, compact JSON when piped.

use serde_json::Value;
use std::io::{IsTerminal, Write};

/// Prints a result value to stdout.
pub(crate) fn print_result(value: &Value) {
    let stdout = std::io::stdout();
    let text = if stdout.is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let mut out = stdout.lock();
    let _ = writeln!(out, "{}", text.unwrap_or_default());
}

/// Whether stdout is a terminal.
pub(crate) fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub(crate) fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}
