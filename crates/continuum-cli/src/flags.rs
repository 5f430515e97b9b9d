//! Flags from a command's params JSON Schema. One generic rule for every
//! command: each top-level property becomes `--kebab-case`, its value is
//! coerced by the property's type, and the result is the camelCase params
//! object. Parsing, `--help` and unknown-flag errors are clap's, on a command
//! built at run time from the schema; nothing is written per command.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches};
use continuum_wire::CommandDescriptor;
use serde_json::{Map, Value};

/// What kind of JSON value a property holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `"type": "string"`.
    String,
    /// `"type": "integer"`.
    Integer,
    /// `"type": "number"`.
    Number,
    /// `"type": "boolean"`.
    Boolean,
    /// `"type": "array"` with items of the given kind.
    Array(ItemKind),
    /// `"type": "object"`.
    Object,
    /// No type constraint: JSON if it parses, else a string.
    Any,
}

/// The kind of an array's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Strings.
    String,
    /// Integers.
    Integer,
    /// Numbers.
    Number,
    /// Booleans.
    Boolean,
    /// Anything (parsed as JSON when possible).
    Any,
}

/// One flag derived from one schema property.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    /// The params field (camelCase).
    pub field: String,
    /// The flag name without dashes (kebab-case).
    pub flag: String,
    /// Its kind.
    pub kind: Kind,
    /// Whether the schema requires it.
    pub required: bool,
    /// Description from the schema.
    pub description: Option<String>,
    /// Allowed values (string enums).
    pub choices: Vec<String>,
    /// Default from the schema, shown in help.
    pub default: Option<Value>,
    /// A secret (`writeOnly` in the schema): never a flag, which `ps` would
    /// show; `cu` reads it from stdin instead.
    pub secret: bool,
}

/// camelCase / snake_case -> kebab-case.
pub fn to_kebab(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for (i, ch) in field.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch == '_' {
            out.push('-');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Follows a local `$ref` (`#/$defs/X`) and unwraps `Option<T>`-style
/// `anyOf`/`oneOf` with a null branch.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..8 {
        if let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let Some(target) = reference
                .strip_prefix("#/")
                .and_then(|path| path.split('/').try_fold(root, |node, key| node.get(key)))
            else {
                return current;
            };
            current = target;
            continue;
        }
        let branches = current
            .get("anyOf")
            .or_else(|| current.get("oneOf"))
            .and_then(Value::as_array);
        if let Some(branches) = branches {
            let non_null: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if non_null.len() == 1 {
                current = non_null[0];
                continue;
            }
        }
        return current;
    }
    current
}

fn type_name(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => Some(name.as_str()),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .find(|name| *name != "null"),
        _ => None,
    }
}

fn string_enum(root: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(root, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    // schemars renders documented unit enums as oneOf of consts.
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        let consts: Vec<String> = branches
            .iter()
            .filter_map(|b| b.get("const").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if consts.len() == branches.len() {
            return consts;
        }
    }
    Vec::new()
}

fn kind_of(root: &Value, schema: &Value) -> Kind {
    let schema = resolve(root, schema);
    if !string_enum(root, schema).is_empty() {
        return Kind::String;
    }
    match type_name(schema) {
        Some("string") => Kind::String,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("object") => Kind::Object,
        Some("array") => {
            let items = schema.get("items").map(|items| resolve(root, items));
            Kind::Array(match items.and_then(type_name) {
                Some("string") => ItemKind::String,
                Some("integer") => ItemKind::Integer,
                Some("number") => ItemKind::Number,
                Some("boolean") => ItemKind::Boolean,
                _ => ItemKind::Any,
            })
        }
        _ => Kind::Any,
    }
}

/// The flags a params schema defines, in schema order.
pub fn flag_specs(schema: &Value) -> Vec<FlagSpec> {
    let root = schema;
    let schema = resolve(root, schema);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(field, property)| FlagSpec {
            field: field.clone(),
            flag: to_kebab(field),
            kind: kind_of(root, property),
            required: required.contains(&field.as_str()),
            description: property
                .get("description")
                .or_else(|| resolve(root, property).get("description"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            choices: string_enum(root, property),
            default: property.get("default").filter(|d| !d.is_null()).cloned(),
            secret: property.get("writeOnly").and_then(Value::as_bool) == Some(true),
        })
        .collect()
}

fn value_hint(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "string",
        Kind::Integer => "integer",
        Kind::Number => "number",
        Kind::Boolean => "bool",
        Kind::Array(ItemKind::String) => "string",
        Kind::Array(ItemKind::Integer) => "integer",
        Kind::Array(ItemKind::Number) => "number",
        Kind::Array(_) => "json",
        Kind::Object => "json-object",
        Kind::Any => "json",
    }
}

/// Builds the clap command for a daemon command.
pub fn clap_command(bin: &str, descriptor: &CommandDescriptor) -> clap::Command {
    let specs = flag_specs(&descriptor.params_schema);
    let mut command = clap::Command::new(descriptor.name.clone())
        .bin_name(format!("{bin} {}", descriptor.name))
        .about(descriptor.description.clone())
        .disable_version_flag(true)
        .after_help(format!(
            "Access: {}.  Values are coerced by the params schema; JSON params also work: {bin} {} '{{...}}'",
            descriptor.access.as_str(),
            descriptor.name
        ));
    let secrets: Vec<String> = specs
        .iter()
        .filter(|spec| spec.secret)
        .map(|spec| spec.field.clone())
        .collect();
    if !secrets.is_empty() {
        command = command.before_help(format!(
            "Secret ({}): read from stdin, never a flag (a flag would show in `ps`): \
             {bin} {} ... < file, or type it when asked (not echoed).",
            secrets.join(", "),
            descriptor.name
        ));
    }
    for spec in specs.into_iter().filter(|spec| !spec.secret) {
        let mut help = spec.description.clone().unwrap_or_default();
        if spec.required {
            help.push_str(" [required]");
        }
        if let Some(default) = &spec.default {
            help.push_str(&format!(" [default: {default}]"));
        }
        if matches!(spec.kind, Kind::Array(_)) {
            help.push_str(" [repeatable, or a JSON array]");
        }
        let mut arg = Arg::new(spec.field.clone())
            .long(spec.flag.clone())
            .help(help.trim().to_owned());
        arg = match spec.kind {
            Kind::Boolean => arg
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_parser(["true", "false"])
                .value_name("BOOL"),
            // A value may start with '-' (`--message -5`, `--text "-- hi"`):
            // after a value-taking flag, the next word is its value.
            Kind::Array(_) => arg
                .action(ArgAction::Append)
                .allow_hyphen_values(true)
                .value_name(value_hint(spec.kind).to_uppercase()),
            _ => arg
                .allow_hyphen_values(true)
                .value_name(value_hint(spec.kind).to_uppercase()),
        };
        if !spec.choices.is_empty() && spec.kind == Kind::String {
            arg = arg.value_parser(PossibleValuesParser::new(spec.choices.clone()));
        }
        command = command.arg(arg);
    }
    command
}

/// Adds the command's secret params (`writeOnly`), read from stdin, to
/// `params`; only when the call is about to be sent.
pub fn add_secrets(descriptor: &CommandDescriptor, params: &mut Value) -> Result<(), FlagError> {
    for spec in flag_specs(&descriptor.params_schema) {
        if spec.secret && params.get(&spec.field).is_none() {
            let value = read_secret(&spec.field)?;
            if let Value::Object(object) = params {
                object.insert(spec.field, Value::String(value));
            }
        }
    }
    Ok(())
}

/// A secret param from stdin: the whole of it (one trailing newline
/// dropped) when piped or redirected; on a terminal, one line typed with
/// echo off.
fn read_secret(field: &str) -> Result<String, FlagError> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    let mut text = String::new();
    let read = if stdin.is_terminal() {
        eprint!("{field} (not echoed): ");
        let echo = EchoOff::new();
        let read = stdin.read_line(&mut text);
        drop(echo);
        eprintln!();
        read
    } else {
        stdin.lock().read_to_string(&mut text)
    };
    read.map_err(|err| FlagError::Secret(format!("cannot read {field} from stdin: {err}")))?;
    let value = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if value.is_empty() {
        return Err(FlagError::Secret(format!(
            "{field} is read from stdin, and stdin was empty"
        )));
    }
    Ok(value.to_owned())
}

/// Terminal echo off while it lives (restored on drop).
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    #[allow(unsafe_code)] // termios has no safe wrapper in std.
    fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios the call
        // fills in; nothing is kept beyond the saved settings.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return EchoOff(None);
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &quiet);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    #[allow(unsafe_code)] // termios has no safe wrapper in std.
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `new` on the same fd.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, saved);
            }
        }
    }
}

/// Why flags could not become params.
#[derive(Debug)]
pub enum FlagError {
    /// Clap rejected the arguments (unknown flag, missing value, `--help`...).
    Clap(clap::Error),
    /// A value does not fit the field's type.
    BadValue {
        /// The flag.
        flag: String,
        /// What was expected.
        expected: &'static str,
        /// What was given.
        given: String,
    },
    /// A secret param could not be read from stdin.
    Secret(String),
}

/// Parses `args` (the words after the command name) into a params object.
pub fn params_from_args(
    bin: &str,
    descriptor: &CommandDescriptor,
    args: &[String],
) -> Result<Value, FlagError> {
    let command = clap_command(bin, descriptor);
    let matches = command
        .try_get_matches_from(std::iter::once(descriptor.name.clone()).chain(args.iter().cloned()))
        .map_err(FlagError::Clap)?;
    params_from_matches(&descriptor.params_schema, &matches)
}

fn params_from_matches(schema: &Value, matches: &ArgMatches) -> Result<Value, FlagError> {
    let mut params = Map::new();
    for spec in flag_specs(schema).into_iter().filter(|spec| !spec.secret) {
        let Some(raw) = matches.get_raw(&spec.field) else {
            continue;
        };
        let values: Vec<String> = raw.map(|v| v.to_string_lossy().into_owned()).collect();
        let value = match spec.kind {
            Kind::Array(item) => coerce_array(&spec.flag, item, &values)?,
            kind => coerce(&spec.flag, kind, values.last().map_or("", String::as_str))?,
        };
        params.insert(spec.field.clone(), value);
    }
    Ok(Value::Object(params))
}

fn bad(flag: &str, expected: &'static str, given: &str) -> FlagError {
    FlagError::BadValue {
        flag: flag.to_owned(),
        expected,
        given: given.to_owned(),
    }
}

/// Coerces one flag value by kind.
pub fn coerce(flag: &str, kind: Kind, raw: &str) -> Result<Value, FlagError> {
    match kind {
        Kind::String => Ok(Value::String(raw.to_owned())),
        // Any 64-bit integer, signed or not (epochs go up to 2^64-1).
        Kind::Integer => {
            let raw_trimmed = raw.trim();
            raw_trimmed
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| raw_trimmed.parse::<u64>().map(Value::from))
                .map_err(|_| bad(flag, "an integer", raw))
        }
        Kind::Number => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad(flag, "a number", raw)),
        Kind::Boolean => match raw {
            "true" | "" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad(flag, "true or false", raw)),
        },
        Kind::Object => match serde_json::from_str::<Value>(raw) {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(bad(flag, "a JSON object", raw)),
        },
        Kind::Array(item) => coerce_array(flag, item, &[raw.to_owned()]),
        Kind::Any => {
            Ok(serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned())))
        }
    }
}

fn coerce_array(flag: &str, item: ItemKind, values: &[String]) -> Result<Value, FlagError> {
    // A single JSON array is taken whole.
    if let [only] = values {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(only) {
            return Ok(Value::Array(items));
        }
    }
    let kind = match item {
        ItemKind::String => Kind::String,
        ItemKind::Integer => Kind::Integer,
        ItemKind::Number => Kind::Number,
        ItemKind::Boolean => Kind::Boolean,
        ItemKind::Any => Kind::Any,
    };
    values
        .iter()
        .map(|raw| coerce(flag, kind, raw))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_wire::Access;
    use serde_json::json;

    fn descriptor(schema: Value) -> CommandDescriptor {
        CommandDescriptor {
            name: "demo/run".into(),
            description: "demo".into(),
            access: Access::AiSafe,
            params_schema: schema,
            result_schema: Value::Null,
            streaming: false,
            destructive: false,
            read_only: false,
        }
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["roundTripMs"],
            "properties": {
                "roundTripMs": {"type": "integer"},
                "ratio": {"type": ["number", "null"]},
                "verbose": {"type": "boolean", "default": false},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}]},
                "name": {"type": "string"}
            },
            "$defs": {"Mode": {"type": "string", "enum": ["fast", "slow"]}}
        })
    }

    fn parse(args: &[&str]) -> Result<Value, FlagError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        params_from_args("cu", &descriptor(schema()), &args)
    }

    #[test]
    fn kebab_flags_map_to_camel_case_fields_with_coercion() {
        let params = parse(&[
            "--round-trip-ms",
            "5",
            "--ratio=0.5",
            "--verbose",
            "--tags",
            "a",
            "--tags",
            "b",
            "--extra",
            r#"{"k":1}"#,
            "--mode",
            "fast",
            "--name",
            "42",
        ])
        .unwrap();
        assert_eq!(
            params,
            json!({"roundTripMs": 5, "ratio": 0.5, "verbose": true, "tags": ["a", "b"],
                   "extra": {"k": 1}, "mode": "fast", "name": "42"})
        );
    }

    #[test]
    fn bare_and_explicit_booleans() {
        assert_eq!(
            parse(&["--verbose=false"]).unwrap(),
            json!({"verbose": false})
        );
        assert_eq!(parse(&["--verbose"]).unwrap(), json!({"verbose": true}));
    }

    #[test]
    fn values_may_start_with_a_hyphen() {
        assert_eq!(
            parse(&["--name", "-5"]).unwrap(),
            json!({"name": "-5"}),
            "a string value"
        );
        assert_eq!(
            parse(&["--round-trip-ms", "-5", "--ratio", "-0.5"]).unwrap(),
            json!({"roundTripMs": -5, "ratio": -0.5})
        );
    }

    #[test]
    fn integers_cover_the_whole_signed_and_unsigned_64_bit_range() {
        for text in ["-9223372036854775808", "0", "18446744073709551615"] {
            let value = coerce("n", Kind::Integer, text).unwrap();
            assert_eq!(value.to_string(), text, "no float rounding");
        }
        assert!(coerce("n", Kind::Integer, "18446744073709551616").is_err());
        assert!(coerce("n", Kind::Integer, "1.5").is_err());
    }

    #[test]
    fn json_array_value_is_taken_whole() {
        assert_eq!(
            parse(&["--tags", r#"["x","y"]"#]).unwrap(),
            json!({"tags": ["x", "y"]})
        );
    }

    #[test]
    fn unknown_flag_is_a_clap_error() {
        match parse(&["--nope", "1"]) {
            Err(FlagError::Clap(err)) => {
                assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_write_only_field_is_never_a_flag() {
        let secret = descriptor(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string", "writeOnly": true}
            },
            "required": ["name", "value"]
        }));
        let specs = flag_specs(&secret.params_schema);
        assert!(specs
            .iter()
            .any(|spec| spec.field == "value" && spec.secret));
        let args = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let parsed = params_from_args("cu", &secret, &args(&["--name", "n"])).unwrap();
        assert_eq!(
            parsed,
            json!({"name": "n"}),
            "the secret is not taken from flags"
        );
        match params_from_args("cu", &secret, &args(&["--name", "n", "--value", "sk"])) {
            Err(FlagError::Clap(err)) => {
                assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument)
            }
            other => panic!("{other:?}"),
        }
        let help = clap_command("cu", &secret).render_help().to_string();
        assert!(
            help.contains("stdin") && !help.contains("--value"),
            "{help}"
        );
    }

    #[test]
    fn wrong_type_names_the_flag() {
        match parse(&["--round-trip-ms", "soon"]) {
            Err(FlagError::BadValue { flag, .. }) => assert_eq!(flag, "round-trip-ms"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn enum_values_are_checked_by_clap() {
        assert!(matches!(
            parse(&["--mode", "medium"]),
            Err(FlagError::Clap(_))
        ));
    }

    #[test]
    fn kebab_case_conversion() {
        assert_eq!(to_kebab("roundTripMs"), "round-trip-ms");
        assert_eq!(to_kebab("max_tokens"), "max-tokens");
        assert_eq!(to_kebab("id"), "id");
    }
}
