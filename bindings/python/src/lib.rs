//! `deviceflow._native`: the pyo3 glue between the Rust core (`deviceflow`) and
//! the Python package. It only converts values; every protocol rule lives in
//! the core. Results cross as the core's JSON (`deviceflow::json`, the form the
//! vectors check) into the frozen dataclasses of `python/deviceflow/_values.py`.

use crate::convert::{config_error, config_from, from_core, guard, to_python};
use deviceflow as core;
use deviceflow::json::ToJson;
use pyo3::prelude::*;

mod convert;
mod dpop;
mod machines;

/// The value classes, defined in `deviceflow._values`, are also reachable here. They are
/// looked up on first use (`__getattr__` below, PEP 562), not at module init: building
/// them imports `dataclasses` and `inspect`, which would double `import deviceflow`.
const VALUES: [&str; 12] = [
    "HttpRequest",
    "Prompt",
    "TokenSet",
    "ServerMetadata",
    "Revoked",
    "Send",
    "Display",
    "Wait",
    "AwaitingResponse",
    "Sign",
    "Done",
    "Failed",
];

/// The module `deviceflow._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<machines::DeviceFlow>()?;
    m.add_class::<machines::Discovery>()?;
    m.add_class::<machines::Refresh>()?;
    m.add_class::<machines::Revocation>()?;
    m.add_class::<dpop::SoftwareKey>()?;
    m.add_function(wrap_pyfunction!(provider_info, m)?)?;
    m.add_function(wrap_pyfunction!(token_set, m)?)?;
    m.add_function(wrap_pyfunction!(id_token_claims, m)?)?;
    m.add_function(wrap_pyfunction!(dpop::dpop_resource_input, m)?)?;
    m.add_function(wrap_pyfunction!(dpop::dpop_resource_headers, m)?)?;
    m.add_function(wrap_pyfunction!(panic_for_tests, m)?)?;
    // The classes stay in `__all__` (what the .pyi lists); `__getattr__` is no export.
    for name in VALUES {
        m.index()?.append(name)?;
    }
    m.setattr("__getattr__", wrap_pyfunction!(module_getattr, m)?)?;
    Ok(())
}

/// `_native.<value class>` (PEP 562): imports `deviceflow._values` on first use and
/// keeps the class in the module, so later lookups never come here.
#[pyfunction]
#[pyo3(pass_module, name = "__getattr__")]
fn module_getattr(m: &Bound<'_, PyModule>, name: &str) -> PyResult<Py<PyAny>> {
    if !VALUES.contains(&name) {
        let message = format!("module 'deviceflow._native' has no attribute '{name}'");
        return Err(pyo3::exceptions::PyAttributeError::new_err(message));
    }
    let value = m.py().import("deviceflow._values")?.getattr(name)?;
    m.setattr(name, &value)?;
    Ok(value.unbind())
}

/// A provider preset (`github`, `google`, `microsoft`, `gitlab`) as a dict of
/// endpoints and defaults.
#[pyfunction]
#[pyo3(signature = (name, tenant_or_url=None))]
fn provider_info(py: Python<'_>, name: &str, tenant_or_url: Option<&str>) -> PyResult<Py<PyAny>> {
    let provider = core::Provider::from_name(name, tenant_or_url).ok_or_else(|| {
        let known = core::Provider::NAMES.join(", ");
        config_error(format!("unknown provider {name:?}; known: {known}"))
    })?;
    to_python(py, &provider.info())
}

/// `TokenSet.from_dict`: the stored form, checked by the core (unknown keys refused).
#[pyfunction]
#[pyo3(name = "_token_set")]
fn token_set(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let tokens: core::TokenSet = config_from(py, Some(data), None)?;
    from_core(py, "_value", "TokenSet", tokens.to_json())
}

/// `TokenSet.id_token_claims_unverified`: the core decodes the ID token's payload.
#[pyfunction]
#[pyo3(name = "_id_token_claims")]
fn id_token_claims(py: Python<'_>, id_token: &str) -> PyResult<Option<Py<PyAny>>> {
    let tokens = core::TokenSet {
        access_token: core::Secret::new(""),
        token_type: String::new(),
        expires_at: None,
        expires_in: None,
        refresh_token: None,
        scope: None,
        id_token: Some(core::Secret::new(id_token)),
        extra: core::json::Object::new(),
    };
    guard(|| {
        tokens
            .id_token_claims_unverified()
            .map(|c| to_python(py, &c))
            .transpose()
    })
}

/// Panics inside the glue's guard, so the tests can prove that a panic reaches
/// Python as `deviceflow.InternalError` (the core itself has no reachable panic).
#[pyfunction]
#[pyo3(name = "_panic_for_tests")]
fn panic_for_tests(message: String) -> PyResult<()> {
    guard(|| panic!("{message}"))
}
