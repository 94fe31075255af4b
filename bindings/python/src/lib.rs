//! `deviceflow._native`: the pyo3 glue between the Rust core (`deviceflow`) and
//! the Python package. It only converts values; every protocol rule lives in
//! the core. The typed Python façade is in `python/deviceflow/`.

use pyo3::prelude::*;

mod actions;
mod convert;
mod dpop;
mod machines;
mod values;

/// The module `deviceflow._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<machines::DeviceFlow>()?;
    m.add_class::<machines::Discovery>()?;
    m.add_class::<machines::Refresh>()?;
    m.add_class::<machines::Revocation>()?;
    m.add_class::<actions::SendAction>()?;
    m.add_class::<actions::Display>()?;
    m.add_class::<actions::Wait>()?;
    m.add_class::<actions::AwaitingResponse>()?;
    m.add_class::<actions::Sign>()?;
    m.add_class::<actions::Done>()?;
    m.add_class::<actions::Failed>()?;
    m.add_class::<actions::HttpRequest>()?;
    m.add_class::<values::Prompt>()?;
    m.add_class::<values::TokenSet>()?;
    m.add_class::<values::ServerMetadata>()?;
    m.add_class::<values::Revoked>()?;
    m.add_class::<dpop::SoftwareKey>()?;
    m.add_function(wrap_pyfunction!(values::provider_info, m)?)?;
    m.add_function(wrap_pyfunction!(dpop::dpop_resource_input, m)?)?;
    m.add_function(wrap_pyfunction!(dpop::dpop_resource_headers, m)?)?;
    m.add_function(wrap_pyfunction!(panic_for_tests, m)?)?;
    Ok(())
}

/// Panics inside the glue's guard, so the tests can prove that a panic reaches
/// Python as `deviceflow.InternalError` (the core itself has no reachable panic).
#[pyfunction]
#[pyo3(name = "_panic_for_tests")]
fn panic_for_tests(message: String) -> PyResult<()> {
    convert::guard(|| panic!("{message}"))
}
