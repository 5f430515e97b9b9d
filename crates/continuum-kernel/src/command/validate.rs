//! Param validation against the command's JSON Schema, naming the field at fault.

use super::CommandError;
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

/// Compiles a params schema. Fails only if a command's derived schema is invalid.
pub(crate) fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::validator_for(schema).map_err(|err| err.to_string())
}

/// Validates `params`, returning the first error as `invalid_params` with the
/// JSON pointer of the offending field.
pub(crate) fn check(validator: &Validator, params: &Value) -> Result<(), CommandError> {
    let Some(error) = validator.iter_errors(params).next() else {
        return Ok(());
    };
    let base = error.instance_path().as_str().to_owned();
    let (field, reason) = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            (format!("{base}/{name}"), format!("unknown field '{name}'"))
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            (
                format!("{base}/{name}"),
                format!("missing required field '{name}'"),
            )
        }
        _ => (base, error.to_string()),
    };
    Err(CommandError::invalid_params(field, reason))
}
