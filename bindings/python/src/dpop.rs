//! DPoP (RFC 9449): the core's `SoftwareKey` (a P-256 key for hosts without a keystore)
//! and the resource-request proof, as thin wrappers; the core builds every proof.

use crate::convert::{config_error, config_from, misuse, now_or_epoch, to_python};
use deviceflow as core;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::collections::BTreeMap;

/// An ES256 (P-256) key held in memory: `SoftwareKey(secret)` from 32 bytes (fresh
/// random bytes, or `bytes_from_secret(stored)`); `SoftwareKey.generate()` takes them
/// from `os.urandom`. `repr` shows only the thumbprint.
#[pyclass(frozen, module = "deviceflow")]
pub struct SoftwareKey(core::SoftwareKey);

#[pymethods]
impl SoftwareKey {
    #[new]
    fn new(secret: &[u8]) -> PyResult<Self> {
        core::SoftwareKey::from_bytes(secret)
            .map(SoftwareKey)
            .map_err(config_error)
    }

    /// A new key from 32 bytes of `os.urandom`.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        let urandom = py.import("os")?.getattr("urandom")?;
        loop {
            let bytes: Vec<u8> = urandom.call1((32,))?.extract()?;
            if let Ok(key) = core::SoftwareKey::from_bytes(&bytes) {
                return Ok(SoftwareKey(key));
            }
        }
    }

    /// A key from the text `secret()` returned (base64url of the 32-byte scalar).
    #[staticmethod]
    fn from_secret(secret: &str) -> PyResult<Self> {
        core::SoftwareKey::from_secret(&core::Secret::new(secret))
            .map(SoftwareKey)
            .map_err(config_error)
    }

    /// The private scalar as base64url text, to store beside the tokens it binds.
    fn secret(&self) -> String {
        self.0.secret().expose().to_owned()
    }

    /// The public key as a JWK: `{"kty": "EC", "crv": "P-256", "x": ..., "y": ...}`.
    fn public_jwk(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0.public_jwk())
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), the `jkt` tokens are bound to.
    #[getter]
    fn thumbprint(&self) -> String {
        self.0.public_jwk().thumbprint()
    }

    /// The ES256 signature of `data`, raw `r||s` (64 bytes; RFC 6979 deterministic).
    fn sign<'py>(&self, py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.sign(data))
    }

    fn __repr__(&self) -> String {
        format!("SoftwareKey(jkt={:?})", self.0.public_jwk().thumbprint())
    }
}

/// The JWS signing input of a resource request's proof (with `ath`). `config` is a
/// DPoP configuration: `{"jwk": {...}, "entropy": <≥16 random bytes, base64url>,
/// "nonces": {origin: nonce}}`; `now_ms` is Unix-epoch milliseconds.
#[pyfunction]
#[pyo3(signature = (config, method, url, access_token, now_ms=None))]
pub fn dpop_resource_input(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    method: &str,
    url: &str,
    access_token: &str,
    now_ms: Option<u64>,
) -> PyResult<String> {
    let config: core::DpopConfig = config_from(py, Some(config), None::<&Bound<'_, PyDict>>)?;
    let mut dpop = core::Dpop::new(config).map_err(config_error)?;
    Ok(dpop.resource_input(method, url, access_token, now_or_epoch(now_ms)))
}

/// `[("authorization", "DPoP <token>"), ("dpop", <proof>)]` from the signing input and
/// its ES256 signature (raw `r||s` or DER).
#[pyfunction]
pub fn dpop_resource_headers(
    input: &str,
    signature: &[u8],
    access_token: &str,
) -> PyResult<Vec<(String, String)>> {
    let headers = core::Dpop::resource_headers(input, signature, access_token).map_err(misuse)?;
    Ok(headers.into_iter().map(|h| (h.name, h.value)).collect())
}

/// The nonces a machine learnt, per origin, for later operations and resource requests.
pub fn nonces(dpop: Option<&core::Dpop>) -> BTreeMap<String, String> {
    dpop.map(|d| d.nonces().clone().into()).unwrap_or_default()
}
