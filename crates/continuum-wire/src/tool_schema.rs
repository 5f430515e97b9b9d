//! Params schemas as model providers and tool hosts accept them. The
//! daemon's descriptors carry full JSON Schema 2020-12 (with `$defs`, `$ref`
//! and `["T", "null"]` type arrays, as schemars writes them). Several
//! consumers reject those: unresolved `$ref` makes some hosts drop every
//! tool, and Gemini rejects type arrays. [`portable_schema`] rewrites a
//! schema into the common subset without changing what it accepts, except
//! that an optional property no longer also admits an explicit `null`
//! (leaving it out means the same thing). [`self_contained_schema`] only
//! inlines references, for result schemas: a client that validates a result
//! against its schema must still accept the `null`s the command sends.
//!
//! Tool names: provider and MCP tool names allow `[A-Za-z0-9_-]` only, so a
//! command's slashes become `__` ([`tool_name`]). The map is reversible
//! because a command name segment holds only `a-z0-9-` ([`command_name`]).

use serde_json::{Map, Value};

/// Deepest `$ref` chain inlined; deeper (recursive) references become `{}`.
const MAX_INLINE_DEPTH: usize = 16;

/// Longest tool name every provider and MCP host accepts (OpenAI, Gemini: 64).
pub const MAX_TOOL_NAME: usize = 64;

/// A command name as a tool name: `memory/remember` -> `memory__remember`.
pub fn tool_name(command: &str) -> String {
    command.replace('/', "__")
}

/// The command a tool name stands for: `memory__remember` -> `memory/remember`.
pub fn command_name(tool: &str) -> String {
    tool.replace("__", "/")
}

/// `schema` with `$ref`s to its own `$defs` inlined, `$defs` and `$schema`
/// dropped, `["T", "null"]` type arrays reduced to `T`, and
/// `anyOf: [X, {type: null}]` reduced to `X`.
pub fn portable_schema(schema: &Value) -> Value {
    rewrite(schema, &Rewrite::of(schema, Nulls::Drop), 0)
}

/// `schema` with `$ref`s to its own `$defs` inlined and `$defs` and
/// `$schema` dropped; `null` types are kept, so it accepts exactly what the
/// original accepts (up to recursion deeper than 16 levels).
pub fn self_contained_schema(schema: &Value) -> Value {
    rewrite(schema, &Rewrite::of(schema, Nulls::Keep), 0)
}

#[derive(Clone, Copy, PartialEq)]
enum Nulls {
    Drop,
    Keep,
}

struct Rewrite {
    defs: Map<String, Value>,
    nulls: Nulls,
}

impl Rewrite {
    fn of(schema: &Value, nulls: Nulls) -> Rewrite {
        let defs = schema
            .get("$defs")
            .or_else(|| schema.get("definitions"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Rewrite { defs, nulls }
    }
}

fn rewrite(value: &Value, how: &Rewrite, depth: usize) -> Value {
    let defs = &how.defs;
    match value {
        Value::Object(object) => {
            if let Some(target) = object.get("$ref").and_then(Value::as_str) {
                let name = target
                    .strip_prefix("#/$defs/")
                    .or_else(|| target.strip_prefix("#/definitions/"));
                let Some(def) = name.and_then(|name| defs.get(name)) else {
                    return Value::Object(Map::new());
                };
                if depth >= MAX_INLINE_DEPTH {
                    return Value::Object(Map::new());
                }
                // Siblings of `$ref` (a description) are kept over the target's.
                let mut inlined = match rewrite(def, how, depth + 1) {
                    Value::Object(inlined) => inlined,
                    other => return other,
                };
                for (key, sibling) in object.iter().filter(|(key, _)| *key != "$ref") {
                    inlined.insert(key.clone(), rewrite(sibling, how, depth));
                }
                return Value::Object(inlined);
            }
            if let Some(single) = non_null_any_of(object).filter(|_| how.nulls == Nulls::Drop) {
                let mut merged = match rewrite(single, how, depth) {
                    Value::Object(merged) => merged,
                    other => return other,
                };
                for (key, sibling) in object.iter().filter(|(key, _)| *key != "anyOf") {
                    merged
                        .entry(key.clone())
                        .or_insert_with(|| rewrite(sibling, how, depth));
                }
                return Value::Object(merged);
            }
            let mut out = Map::new();
            for (key, child) in object {
                match key.as_str() {
                    "$defs" | "definitions" | "$schema" => {}
                    "type" if how.nulls == Nulls::Drop => {
                        out.insert(key.clone(), without_null(child));
                    }
                    _ => {
                        out.insert(key.clone(), rewrite(child, how, depth));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| rewrite(item, how, depth)).collect())
        }
        other => other.clone(),
    }
}

/// `["T", "null"]` -> `"T"`; anything else unchanged.
fn without_null(types: &Value) -> Value {
    match types.as_array() {
        Some(types) => {
            let kept: Vec<&Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .collect();
            match kept.as_slice() {
                [single] => (*single).clone(),
                _ => Value::Array(kept.into_iter().cloned().collect()),
            }
        }
        None => types.clone(),
    }
}

/// The one non-null branch of `anyOf: [X, {"type": "null"}]`.
fn non_null_any_of(object: &Map<String, Value>) -> Option<&Value> {
    let branches = object.get("anyOf")?.as_array()?;
    let is_null = |branch: &Value| branch.get("type").and_then(Value::as_str) == Some("null");
    match branches.as_slice() {
        [a, b] if is_null(b) => Some(a),
        [a, b] if is_null(a) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_are_inlined_and_nulls_dropped() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"], "description": "n"},
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}], "description": "m"},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
            },
            "required": ["items"],
            "$defs": {
                "Mode": {"type": "string", "enum": ["a", "b"]},
                "Item": {"type": "object", "properties": {"mode": {"$ref": "#/$defs/Mode"}}}
            }
        });
        let portable = portable_schema(&schema);
        assert_eq!(
            portable,
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "n"},
                    "mode": {"type": "string", "enum": ["a", "b"], "description": "m"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"mode": {"type": "string", "enum": ["a", "b"]}}}}
                },
                "required": ["items"]
            })
        );
        assert!(!portable.to_string().contains("$ref"));
    }

    #[test]
    fn recursive_and_dangling_refs_end_as_empty_schemas() {
        let schema = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#/$defs/Node"}, "lost": {"$ref": "#/$defs/Missing"}},
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        });
        let portable = portable_schema(&schema);
        assert_eq!(portable["properties"]["lost"], json!({}));
        assert!(!portable.to_string().contains("$ref"));
    }

    #[test]
    fn self_contained_schemas_keep_null() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"]},
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}]}
            },
            "$defs": {"Mode": {"type": "string", "enum": ["a", "b"]}}
        });
        assert_eq!(
            self_contained_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": ["string", "null"]},
                    "mode": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}
                }
            })
        );
    }

    #[test]
    fn tool_names_map_back() {
        for command in [
            "ping",
            "memory/remember",
            "data/clear-all",
            "grid/grant/issue",
        ] {
            let tool = tool_name(command);
            assert!(tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            assert_eq!(command_name(&tool), command);
        }
    }
}
