//! The daemon's errors in MCP's terms.
//!
//! A failed call is a tool error (`isError`), which the model reads: bad
//! params name the field, refusals the reason. Its text leads with the
//! stable kind; `_meta["continuum/error"]` carries the code, kind, field and
//! reason for programs. Never `structuredContent`: clients check that
//! against the tool's output schema. Only an unknown tool, or a tool list
//! that cannot be fetched, is a protocol error.

use continuum_wire::tool_schema::tool_name;
use continuum_wire::{ErrorCode, RpcError};
use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use rmcp::ErrorData;
use serde_json::{json, Map, Value};

/// The `_meta` key of a tool error's machine-readable detail.
pub const ERROR_META_KEY: &str = "continuum/error";

/// A tool error the model can act on, e.g.
/// `invalid_params: expected integer (field /limit)`.
pub fn tool_error(err: RpcError) -> CallToolResult {
    let data = err.data.as_deref();
    let kind = data
        .map(|data| data.kind.clone())
        .unwrap_or_else(|| err.error_code().map_or("error", ErrorCode::kind).to_owned());
    let field = data.and_then(|data| data.field.clone());
    let reason = data.and_then(|data| data.reason.clone());
    // Lead with the stable kind, unless the daemon's message already does.
    let mut text = if err.message.starts_with(&kind.replace('_', " ")) {
        err.message.clone()
    } else {
        format!("{kind}: {}", err.message)
    };
    match (&field, &reason) {
        (Some(field), _) => text.push_str(&format!(" (field {field})")),
        (None, Some(reason)) => text.push_str(&format!(" (reason {reason})")),
        (None, None) => {}
    }
    let mut meta = Map::new();
    meta.insert(
        ERROR_META_KEY.to_owned(),
        json!({"code": err.code, "kind": kind, "field": field, "reason": reason}),
    );
    CallToolResult::error(vec![ContentBlock::text(text)]).with_meta(Some(MetaObject(meta)))
}

/// A protocol error: an unknown tool is `invalid_params` with the tools it
/// may have meant; anything else is `internal_error`.
pub fn protocol_error(err: RpcError) -> ErrorData {
    if err.error_code() == Some(ErrorCode::MethodNotFound) {
        let suggestions: Vec<Value> = err
            .data
            .iter()
            .flat_map(|data| data.suggestions.iter())
            .map(|command| Value::String(tool_name(command)))
            .collect();
        return ErrorData::invalid_params(
            format!("unknown tool: {}", err.message),
            Some(json!({"kind": "method_not_found", "suggestions": suggestions})),
        );
    }
    ErrorData::internal_error(err.message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_params_name_the_field() {
        let err = RpcError::new(ErrorCode::InvalidParams, "expected integer").with_field("/limit");
        let result = tool_error(err);
        assert_eq!(result.is_error, Some(true));
        assert!(result.structured_content.is_none());
        let text = serde_json::to_value(&result.content[0]).unwrap();
        assert_eq!(
            text["text"],
            "invalid_params: expected integer (field /limit)"
        );
        let meta = result.meta.unwrap();
        assert_eq!(meta.0[ERROR_META_KEY]["field"], "/limit");
        assert_eq!(meta.0[ERROR_META_KEY]["code"], -32602);
    }

    #[test]
    fn refusals_give_the_reason() {
        let err = RpcError::new(ErrorCode::Forbidden, "not allowed").with_reason("owner_only");
        let text = serde_json::to_value(&tool_error(err).content[0]).unwrap();
        assert_eq!(text["text"], "forbidden: not allowed (reason owner_only)");
        let err = RpcError::new(ErrorCode::Forbidden, "forbidden: 'x' is owner-only")
            .with_reason("owner_only");
        let text = serde_json::to_value(&tool_error(err).content[0]).unwrap();
        assert_eq!(
            text["text"],
            "forbidden: 'x' is owner-only (reason owner_only)"
        );
    }

    #[test]
    fn unknown_tools_suggest_tool_names() {
        let err = RpcError::new(ErrorCode::MethodNotFound, "no command data/lst")
            .with_suggestions(vec!["data/list".into()]);
        let err = protocol_error(err);
        assert_eq!(err.code.0, -32602);
        assert_eq!(err.data.unwrap()["suggestions"][0], "data__list");
    }
}
