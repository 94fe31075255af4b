//! The four sans-IO machines (`DeviceFlow`, `Discovery`, `Refresh`, `Revocation`)
//! with the core's methods. `now_ms` defaults to the Unix epoch in milliseconds.

use crate::convert::{
    body_from, catch_unwind, config_error, config_from, from_core, headers_from, misuse,
    now_or_epoch, panic_error, AssertUnwindSafe, InternalError,
};
use crate::dpop::nonces;
use deviceflow as core;
use deviceflow::json::ToJson;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;

/// A machine class: the shared methods, plus the constructor and extras given.
/// `$result` names the Python class of its `Done` result.
macro_rules! machine {
    ($(#[$doc:meta])* $name:ident($core:ty, $result:literal) { $($extra:tt)* }) => {
        $(#[$doc])*
        #[pyclass(module = "deviceflow")]
        pub struct $name {
            inner: $core,
            /// Set when a call panicked: the machine may be half-updated, so refuse further use.
            poisoned: bool,
        }

        #[pymethods]
        impl $name {
            $($extra)*

            /// The next thing to do. `Send` and `Display` are handed out once each.
            #[pyo3(signature = (now_ms=None))]
            fn poll_action(&mut self, py: Python<'_>, now_ms: Option<u64>) -> PyResult<Py<PyAny>> {
                let now = now_or_epoch(now_ms);
                self.run(|m| from_core(py, "_action", $result, m.poll_action(now).to_json()))
            }

            /// Feeds the response (any status) to the request with this id.
            #[pyo3(signature = (id, status, headers, body, now_ms=None))]
            fn handle_response(
                &mut self,
                id: u64,
                status: u16,
                headers: &Bound<'_, PyAny>,
                body: &Bound<'_, PyAny>,
                now_ms: Option<u64>,
            ) -> PyResult<()> {
                let response = core::HttpResponse::new(status, headers_from(headers)?, body_from(body)?);
                let now = now_or_epoch(now_ms);
                self.run(|m| m.handle_response(core::RequestId(id), response, now).map_err(misuse))
            }

            /// The request with this id got no response: `kind` is `timeout`, `connect`,
            /// `tls`, `io` or `other` (RFC 8628 §3.5 backs off).
            #[pyo3(signature = (id, kind, now_ms=None))]
            fn handle_transport_error(&mut self, id: u64, kind: &str, now_ms: Option<u64>) -> PyResult<()> {
                let kind: core::TransportError = serde_json::from_value(kind.into())
                    .map_err(|_| PyValueError::new_err(format!("unknown transport error kind {kind:?}")))?;
                let now = now_or_epoch(now_ms);
                self.run(|m| m.handle_transport_error(core::RequestId(id), kind, now).map_err(misuse))
            }

            /// The DPoP signature for the `Sign` action with this id (raw r||s or DER bytes).
            #[pyo3(signature = (id, signature, now_ms=None))]
            fn handle_signature(&mut self, id: u64, signature: &[u8], now_ms: Option<u64>) -> PyResult<()> {
                let now = now_or_epoch(now_ms);
                self.run(|m| m.handle_signature(core::RequestId(id), signature, now).map_err(misuse))
            }

            /// Stops at once; the next action is `Failed` with a `Cancelled` error.
            #[pyo3(signature = (now_ms=None))]
            fn cancel(&mut self, now_ms: Option<u64>) -> PyResult<()> {
                self.run(|m| m.cancel(now_or_epoch(now_ms)).map_err(misuse))
            }

            /// True after `Done` or `Failed`.
            #[getter]
            fn is_finished(&self) -> bool {
                self.inner.is_finished()
            }

            fn __repr__(&self) -> String {
                format!("<deviceflow.{} finished={}>", stringify!($name), self.inner.is_finished())
            }
        }

        impl $name {
            fn wrap(inner: $core) -> Self {
                $name { inner, poisoned: false }
            }

            fn run<T>(&mut self, f: impl FnOnce(&mut $core) -> PyResult<T>) -> PyResult<T> {
                if self.poisoned {
                    return Err(InternalError::new_err("this machine failed internally earlier"));
                }
                match catch_unwind(AssertUnwindSafe(|| f(&mut self.inner))) {
                    Ok(result) => result,
                    Err(payload) => {
                        self.poisoned = true;
                        Err(panic_error(payload))
                    }
                }
            }
        }
    };
}

machine!(
    /// A device authorization grant (RFC 8628): discovery if only `issuer` is given,
    /// the device authorization request, the prompt, then polling for tokens.
    DeviceFlow(core::DeviceFlow, "TokenSet") {
        #[new]
        #[pyo3(signature = (config=None, /, *, now_ms=None, **kwargs))]
        fn new(
            py: Python<'_>,
            config: Option<&Bound<'_, PyAny>>,
            now_ms: Option<u64>,
            kwargs: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let config: core::Config = config_from(py, config, kwargs)?;
            let flow = core::DeviceFlow::new(config, now_or_epoch(now_ms)).map_err(config_error)?;
            Ok(Self::wrap(flow))
        }

        /// The current prompt, once the device authorization succeeded.
        #[getter]
        fn prompt(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
            let prompt = self.inner.prompt().map(ToJson::to_json);
            prompt.map(|json| from_core(py, "_value", "Prompt", json)).transpose()
        }

        /// The discovered metadata, when the flow started from an issuer.
        #[getter]
        fn metadata(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
            let metadata = self.inner.metadata().map(ToJson::to_json);
            metadata.map(|json| from_core(py, "_value", "ServerMetadata", json)).transpose()
        }

        /// The token endpoint in use, once known.
        #[getter]
        fn token_endpoint(&self) -> Option<&str> {
            self.inner.token_endpoint()
        }

        /// The machine's state, for logs: `discovering`, `authorizing`, `polling`, ...
        #[getter]
        fn state(&self) -> &'static str {
            self.inner.state_name()
        }

        /// DPoP: the latest `DPoP-Nonce` per server origin (empty without DPoP).
        #[getter]
        fn dpop_nonces(&self) -> BTreeMap<String, String> {
            nonces(self.inner.dpop())
        }
    }
);

machine!(
    /// Fetches a server's metadata from its issuer (RFC 8414, OpenID Connect Discovery).
    Discovery(core::Discovery, "ServerMetadata") {
        #[new]
        #[pyo3(signature = (issuer, *, timing=None, now_ms=None))]
        fn new(
            py: Python<'_>,
            issuer: &str,
            timing: Option<&Bound<'_, PyAny>>,
            now_ms: Option<u64>,
        ) -> PyResult<Self> {
            let timing: core::Timing = config_from(py, timing, None)?;
            let discovery = core::Discovery::with_timing(issuer, timing, now_or_epoch(now_ms))
                .map_err(config_error)?;
            Ok(Self::wrap(discovery))
        }
    }
);

machine!(
    /// Exchanges a refresh token for new tokens (RFC 6749 §6).
    Refresh(core::Refresh, "TokenSet") {
        #[new]
        #[pyo3(signature = (config=None, /, *, now_ms=None, **kwargs))]
        fn new(
            py: Python<'_>,
            config: Option<&Bound<'_, PyAny>>,
            now_ms: Option<u64>,
            kwargs: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let options: RefreshOptions = config_from(py, config, kwargs)?;
            let mut refresh = core::Refresh::new(options.config, now_or_epoch(now_ms))
                .map_err(config_error)?
                .with_extra_token_types(options.extra_token_types);
            if let Some(dpop) = options.dpop {
                refresh = refresh.with_dpop(dpop).map_err(config_error)?;
            }
            Ok(Self::wrap(refresh))
        }

        /// DPoP: the latest `DPoP-Nonce` per server origin (empty without DPoP).
        #[getter]
        fn dpop_nonces(&self) -> BTreeMap<String, String> {
            nonces(self.inner.dpop())
        }
    }
);

machine!(
    /// Revokes a token (RFC 7009).
    Revocation(core::Revocation, "Revoked") {
        #[new]
        #[pyo3(signature = (config=None, /, *, now_ms=None, **kwargs))]
        fn new(
            py: Python<'_>,
            config: Option<&Bound<'_, PyAny>>,
            now_ms: Option<u64>,
            kwargs: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let options: RevocationOptions = config_from(py, config, kwargs)?;
            let mut revocation =
                core::Revocation::new(options.config, now_or_epoch(now_ms)).map_err(config_error)?;
            if let Some(dpop) = options.dpop {
                revocation = revocation.with_dpop(dpop).map_err(config_error)?;
            }
            Ok(Self::wrap(revocation))
        }

        /// DPoP: the latest `DPoP-Nonce` per server origin (empty without DPoP).
        #[getter]
        fn dpop_nonces(&self) -> BTreeMap<String, String> {
            nonces(self.inner.dpop())
        }
    }
);

/// `RefreshConfig` plus `extra_token_types`, which the core takes through a builder.
#[derive(serde::Deserialize, serde::Serialize)]
struct RefreshOptions {
    #[serde(flatten)]
    config: core::RefreshConfig,
    #[serde(default)]
    extra_token_types: Vec<String>,
    /// DPoP (RFC 9449): `{"jwk": {...}, "entropy": ..., "nonces": {...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop: Option<core::DpopConfig>,
}

/// `RevocationConfig` plus `dpop`, which the core takes through a builder.
#[derive(serde::Deserialize, serde::Serialize)]
struct RevocationOptions {
    #[serde(flatten)]
    config: core::RevocationConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop: Option<core::DpopConfig>,
}
