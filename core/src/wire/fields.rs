//! Typed reads of JSON/form fields, lenient where real servers differ
//! (numbers as strings) and strict about everything else.

use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

/// An optional string field. `null` counts as absent; any other type is an error.
pub(crate) fn opt_str<'a>(obj: &'a Object, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, got {}", kind(other))),
    }
}

/// A required, non-empty string field.
pub(crate) fn req_str<'a>(obj: &'a Object, key: &str) -> Result<&'a str, String> {
    match opt_str(obj, key)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("{key} is empty")),
        None => Err(format!("{key} is missing")),
    }
}

/// An optional non-negative number of seconds, as a number or a numeric string
/// (some servers send `"interval": "5"`). Returned in milliseconds.
pub(crate) fn opt_seconds_ms(obj: &Object, key: &str) -> Result<Option<u64>, String> {
    let secs = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(other) => return Err(format!("{key} must be a number, got {}", kind(other))),
    };
    match secs {
        Some(s) if (0.0..=1e12).contains(&s) => Ok(Some((s * 1000.0).round() as u64)),
        _ => Err(format!("{key} must be a non-negative number of seconds")),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
