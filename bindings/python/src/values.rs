//! The core's result values as frozen Python classes: `Prompt`, `TokenSet`,
//! `ServerMetadata`, `Revoked`. Every `repr` redacts secrets.

use crate::convert::{config_error, config_from, guard, now_or_epoch, to_python};
use deviceflow as core;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::BoundObject;

/// `Name(key=value, ...)` with Python reprs; `None` values become the literal text given.
pub fn repr(py: Python<'_>, class: &str, fields: &[(&str, Option<Py<PyAny>>)]) -> PyResult<String> {
    let parts = fields
        .iter()
        .map(|(key, value)| match value {
            Some(v) => Ok(format!("{key}={}", v.bind(py).repr()?)),
            None => Ok(format!("{key}=<redacted>")),
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(format!("{class}({})", parts.join(", ")))
}

/// A field for [`repr`].
pub fn show<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> Option<Py<PyAny>> {
    value
        .into_pyobject(py)
        .ok()
        .map(|v| v.into_bound().into_any().unbind())
}

/// What to show the user (RFC 8628 §3.3). Every string was checked by the core.
#[pyclass(frozen, get_all, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct Prompt {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub verification_host: String,
    pub expires_at: u64,
    pub expires_in: u64,
    pub interval: u64,
    pub message: Option<String>,
}

impl From<core::Prompt> for Prompt {
    fn from(p: core::Prompt) -> Self {
        Prompt {
            user_code: p.user_code,
            verification_uri: p.verification_uri,
            verification_uri_complete: p.verification_uri_complete,
            verification_host: p.verification_host,
            expires_at: p.expires_at.0,
            expires_in: p.expires_in,
            interval: p.interval,
            message: p.message,
        }
    }
}

#[pymethods]
impl Prompt {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr(
            py,
            "Prompt",
            &[
                ("user_code", show(py, &self.user_code)),
                ("verification_uri", show(py, &self.verification_uri)),
                (
                    "verification_uri_complete",
                    show(py, &self.verification_uri_complete),
                ),
                ("expires_at", show(py, self.expires_at)),
                ("interval", show(py, self.interval)),
            ],
        )
    }
}

/// Tokens from the token endpoint (RFC 6749 §5.1). `repr` redacts every token;
/// `to_dict()` writes them out for storage (treat its output as a secret).
#[pyclass(frozen, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct TokenSet(pub core::TokenSet);

#[pymethods]
impl TokenSet {
    #[getter]
    fn access_token(&self) -> &str {
        self.0.access_token.expose()
    }
    #[getter]
    fn token_type(&self) -> &str {
        &self.0.token_type
    }
    /// Unix epoch milliseconds (when the flow ran on the default clock).
    #[getter]
    fn expires_at(&self) -> Option<u64> {
        self.0.expires_at.map(|t| t.0)
    }
    #[getter]
    fn expires_in(&self) -> Option<u64> {
        self.0.expires_in
    }
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.0.refresh_token.as_ref().map(core::Secret::expose)
    }
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }
    #[getter]
    fn id_token(&self) -> Option<&str> {
        self.0.id_token.as_ref().map(core::Secret::expose)
    }
    #[getter]
    fn extra(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0.extra)
    }

    /// True when the access token expires within `skew_ms` of `now_ms` (default: now).
    #[pyo3(signature = (now_ms=None, skew_ms=60_000))]
    fn needs_refresh(&self, now_ms: Option<u64>, skew_ms: u64) -> bool {
        self.0.needs_refresh(now_or_epoch(now_ms), skew_ms)
    }

    #[pyo3(signature = (now_ms=None))]
    fn is_expired(&self, now_ms: Option<u64>) -> bool {
        self.0.is_expired(now_or_epoch(now_ms))
    }

    /// The ID token's claims, NOT verified: for display only ("signed in as ...").
    fn id_token_claims_unverified(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(|| {
            self.0
                .id_token_claims_unverified()
                .map(|c| to_python(py, &c))
                .transpose()
        })
    }

    /// Every field, tokens included, as JSON-ready data for storage.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0)
    }

    /// The inverse of `to_dict()`.
    #[staticmethod]
    fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        config_from(py, Some(data), None).map(TokenSet)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let secret = |present: bool| if present { None } else { show(py, py.None()) };
        let extra: Vec<&String> = self.0.extra.keys().collect();
        repr(
            py,
            "TokenSet",
            &[
                ("token_type", show(py, &self.0.token_type)),
                ("access_token", None),
                ("refresh_token", secret(self.0.refresh_token.is_some())),
                ("id_token", secret(self.0.id_token.is_some())),
                ("scope", show(py, &self.0.scope)),
                ("expires_at", show(py, self.expires_at())),
                ("extra_keys", show(py, extra)),
            ],
        )
    }
}

/// What discovery learned about a server (RFC 8414 §2). Endpoints are checked URLs.
#[pyclass(frozen, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct ServerMetadata(pub core::ServerMetadata);

#[pymethods]
impl ServerMetadata {
    #[getter]
    fn issuer(&self) -> &str {
        &self.0.issuer
    }
    #[getter]
    fn device_authorization_endpoint(&self) -> Option<&str> {
        self.0.device_authorization_endpoint.as_deref()
    }
    #[getter]
    fn token_endpoint(&self) -> Option<&str> {
        self.0.token_endpoint.as_deref()
    }
    #[getter]
    fn revocation_endpoint(&self) -> Option<&str> {
        self.0.revocation_endpoint.as_deref()
    }
    #[getter]
    fn token_endpoint_auth_methods_supported(&self) -> Vec<String> {
        self.0.token_endpoint_auth_methods_supported.clone()
    }
    #[getter]
    fn grant_types_supported(&self) -> Vec<String> {
        self.0.grant_types_supported.clone()
    }
    #[getter]
    fn scopes_supported(&self) -> Vec<String> {
        self.0.scopes_supported.clone()
    }
    /// The URL the document came from.
    #[getter]
    fn source(&self) -> &str {
        &self.0.source
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0)
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr(
            py,
            "ServerMetadata",
            &[
                ("issuer", show(py, &self.0.issuer)),
                (
                    "device_authorization_endpoint",
                    show(py, self.device_authorization_endpoint()),
                ),
                ("token_endpoint", show(py, self.token_endpoint())),
                ("revocation_endpoint", show(py, self.revocation_endpoint())),
                ("source", show(py, &self.0.source)),
            ],
        )
    }
}

/// A revocation succeeded (RFC 7009 §2.2).
#[pyclass(frozen, get_all, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct Revoked {
    pub status: u16,
}

#[pymethods]
impl Revoked {
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status)?;
        Ok(d.into_any().unbind())
    }
    fn __repr__(&self) -> String {
        format!("Revoked(status={})", self.status)
    }
}

/// A provider preset (`github`, `google`, `microsoft`, `gitlab`) as a dict of
/// endpoints and defaults.
#[pyfunction]
#[pyo3(signature = (name, tenant_or_url=None))]
pub fn provider_info(
    py: Python<'_>,
    name: &str,
    tenant_or_url: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let provider = core::Provider::from_name(name, tenant_or_url).ok_or_else(|| {
        config_error(format!(
            "unknown provider {name:?}; known: {}",
            core::Provider::NAMES.join(", ")
        ))
    })?;
    to_python(py, &provider.info())
}
