//! The capability rule: the single definition of "this grant covers that command".

/// Whether any of `capabilities` confers `command`.
///
/// A capability confers the command with exactly its name, and every command
/// below it on a `/` boundary: `ai/generate` confers `ai/generate` and
/// `ai/generate/stream`, but not `ai/generatex` or `ai`. An empty capability
/// confers nothing, and there are no wildcards.
pub fn confers(capabilities: &[String], command: &str) -> bool {
    capabilities.iter().any(|capability| {
        !capability.is_empty()
            && command
                .strip_prefix(capability.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}
