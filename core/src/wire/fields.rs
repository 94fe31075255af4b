//! Typed reads of JSON/form fields, lenient where real servers differ
//! (numbers as strings) and strict about everything else.

pub(crate) use crate::json::Object;
use crate::json::Value;

/// An optional string field. `null` counts as absent; any other type is an error.
pub(crate) fn opt_str<'a>(obj: &'a Object, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, got {}", other.kind())),
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
    let ms = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.seconds_ms(),
        Some(Value::String(s)) => crate::json::seconds_ms(s.trim()),
        Some(other) => return Err(format!("{key} must be a number, got {}", other.kind())),
    };
    match ms {
        Some(ms) => Ok(Some(ms)),
        None => Err(format!("{key} must be a non-negative number of seconds")),
    }
}
