//! Params schemas as model providers and tool hosts accept them. The
//! daemon's descriptors carry full JSON Schema 2020-12 (with `$defs`, `$ref`
//! and `["T", "null"]` type arrays, as schemars writes them). Several
//! consumers reject those: unresolved `$ref` makes some hosts drop every
//! tool, and Gemini rejects type arrays. [`portable_schema`] rewrites a
//! schema into the common subset without changing what it accepts, except
//! that an optional property no longer also admits an explicit `null`
//! (leaving it out means the same thing).

use serde_json::{Map, Value};

/// Deepest `$ref` chain inlined; deeper (recursive) references become `{}`.
const MAX_INLINE_DEPTH: usize = 16;

/// `schema` with `$ref`s to its own `$defs` inlined, `$defs` and `$schema`
/// dropped, `["T", "null"]` type arrays reduced to `T`, and
/// `anyOf: [X, {type: null}]` reduced to `X`.
pub fn portable_schema(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    rewrite(schema, &defs, 0)
}

fn rewrite(value: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
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
                let mut inlined = match rewrite(def, defs, depth + 1) {
                    Value::Object(inlined) => inlined,
                    other => return other,
                };
                for (key, sibling) in object.iter().filter(|(key, _)| *key != "$ref") {
                    inlined.insert(key.clone(), rewrite(sibling, defs, depth));
                }
                return Value::Object(inlined);
            }
            if let Some(single) = non_null_any_of(object) {
                let mut merged = match rewrite(single, defs, depth) {
                    Value::Object(merged) => merged,
                    other => return other,
                };
                for (key, sibling) in object.iter().filter(|(key, _)| *key != "anyOf") {
                    merged
                        .entry(key.clone())
                        .or_insert_with(|| rewrite(sibling, defs, depth));
                }
                return Value::Object(merged);
            }
            let mut out = Map::new();
            for (key, child) in object {
                match key.as_str() {
                    "$defs" | "definitions" | "$schema" => {}
                    "type" => {
                        out.insert(key.clone(), without_null(child));
                    }
                    _ => {
                        out.insert(key.clone(), rewrite(child, defs, depth));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| rewrite(item, defs, depth))
                .collect(),
        ),
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
}
