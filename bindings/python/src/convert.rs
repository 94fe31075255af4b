//! Conversions between Python values and the core's types, and the errors the
//! glue raises. Exceptions and value classes are defined in Python
//! (`deviceflow/errors.py`, `deviceflow/_values.py`); this file only raises and fills them.

use deviceflow::{Header, MisuseError as CoreMisuse, Timestamp};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::any::Any;
pub use std::panic::{catch_unwind, AssertUnwindSafe};

pyo3::import_exception!(deviceflow.errors, MisuseError);
pyo3::import_exception!(deviceflow.errors, ConfigError);
pyo3::import_exception!(deviceflow.errors, InternalError);

/// Runs `f`, turning a Rust panic into `deviceflow.InternalError` (a
/// `DeviceFlowError`), so no panic reaches Python as a `BaseException`.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload)))
}

pub fn panic_error(payload: Box<dyn Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    InternalError::new_err(format!(
        "internal error in deviceflow (please report it): {what}"
    ))
}

pub fn misuse(e: CoreMisuse) -> PyErr {
    MisuseError::new_err((e.to_string(), e.code()))
}

pub fn config_error(message: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(message.to_string())
}

/// A core value, written as JSON by the core (`deviceflow::json`, the form the
/// vectors check), as its frozen Python dataclass: `deviceflow._values.<factory>(kind, json)`.
/// `factory` is `_action` (an `Action` whose `Done` holds a `kind`) or `_value`.
pub fn from_core(
    py: Python<'_>,
    factory: &'static str,
    kind: &str,
    json: String,
) -> PyResult<Py<PyAny>> {
    static ACTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static VALUE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let cell = if factory == "_action" {
        &ACTION
    } else {
        &VALUE
    };
    Ok(cell
        .import(py, "deviceflow._values", factory)?
        .call1((kind, json))?
        .unbind())
}

fn json_fn<'py>(py: Python<'py>, name: &'static str) -> PyResult<&'py Bound<'py, PyAny>> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let cell = if name == "dumps" { &DUMPS } else { &LOADS };
    cell.import(py, "json", name)
}

/// Any serialisable core value as plain Python data (dict, list, str, int, ...).
pub fn to_python<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(json_fn(py, "loads")?.call1((text,))?.unbind())
}

/// A configuration from a mapping plus keyword arguments (keywords win), parsed
/// by the core's serde types. Unknown keys are refused, so a typo such as
/// `scopes=` fails loudly instead of being ignored.
pub fn config_from<T: DeserializeOwned + Serialize>(
    py: Python<'_>,
    config: Option<&Bound<'_, PyAny>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<T> {
    let merged = PyDict::new(py);
    if let Some(c) = config {
        merged.call_method1("update", (c,))?;
    }
    if let Some(k) = kwargs {
        merged.update(k.as_mapping())?;
    }
    let text: String = json_fn(py, "dumps")?.call1((merged,))?.extract()?;
    let input: Value = serde_json::from_str(&text).map_err(config_error)?;
    let parsed: T = serde_json::from_value(input.clone()).map_err(config_error)?;
    let known = serde_json::to_value(&parsed).map_err(config_error)?;
    unknown_key(&input, &known, "").map_or(Ok(parsed), |key| {
        Err(config_error(format!("unknown configuration key {key:?}")))
    })
}

/// The first key of `input` that the parsed value does not have (nested objects too).
fn unknown_key(input: &Value, known: &Value, prefix: &str) -> Option<String> {
    let (Value::Object(given), Value::Object(kept)) = (input, known) else {
        return None;
    };
    given.iter().find_map(|(key, value)| match kept.get(key) {
        None => Some(format!("{prefix}{key}")),
        Some(inner) => unknown_key(value, inner, &format!("{prefix}{key}.")),
    })
}

/// Headers from a mapping (anything with `.items()`) or an iterable of pairs.
pub fn headers_from(headers: &Bound<'_, PyAny>) -> PyResult<Vec<Header>> {
    let pairs = if headers.is_none() {
        return Ok(Vec::new());
    } else if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    pairs
        .try_iter()?
        .map(|pair| {
            let (name, value): (String, String) = pair?.extract()?;
            Ok(Header::new(name, value))
        })
        .collect()
}

/// A body from `bytes`, `bytearray`, `str` (UTF-8) or `None` (empty).
pub fn body_from(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if body.is_none() {
        Ok(Vec::new())
    } else if let Ok(b) = body.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(s) = body.cast::<PyString>() {
        Ok(s.to_cow()?.as_bytes().to_vec())
    } else {
        body.extract::<Vec<u8>>()
    }
}

/// `now_ms`, or the Unix epoch in milliseconds (the clock stored expiries assume).
pub fn now_or_epoch(now_ms: Option<u64>) -> Timestamp {
    Timestamp(now_ms.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }))
}
