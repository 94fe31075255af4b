//! The core's `Action` as one frozen, pattern-matchable class per variant
//! (`match flow.poll_action(): case Wait(until, delay_ms, reason): ...`).

use crate::convert::flow_error;
use crate::values::{repr, show, Prompt, Revoked, ServerMetadata, TokenSet};
use deviceflow as core;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A request to perform exactly once. `repr` hides the body and `Authorization`
/// (they carry the device code, refresh token or client secret).
#[pyclass(frozen, module = "deviceflow")]
pub struct HttpRequest(core::HttpRequest);

#[pymethods]
impl HttpRequest {
    #[classattr]
    fn __match_args__(py: Python<'_>) -> Py<PyAny> {
        show(py, ("id", "method", "url", "headers", "body")).expect("a tuple of str")
    }
    #[getter]
    fn id(&self) -> u64 {
        self.0.id.0
    }
    #[getter]
    fn method(&self) -> &'static str {
        self.0.method.as_str()
    }
    #[getter]
    fn url(&self) -> &str {
        &self.0.url
    }
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        let pairs = self.0.headers.iter();
        pairs.map(|h| (h.name.clone(), h.value.clone())).collect()
    }
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.body)
    }
    /// The most this request may take, in ms (what is left of a one-shot operation's
    /// budget); `None` for token polls. End it at the smaller of this and your own deadline.
    #[getter]
    fn timeout_ms(&self) -> Option<u64> {
        self.0.timeout_ms
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let headers: Vec<(&str, &str)> = self
            .0
            .headers
            .iter()
            .map(|h| {
                let secret = h.name.eq_ignore_ascii_case("authorization");
                (
                    h.name.as_str(),
                    if secret {
                        "<redacted>"
                    } else {
                        h.value.as_str()
                    },
                )
            })
            .collect();
        repr(
            py,
            "HttpRequest",
            &[
                ("id", show(py, self.id())),
                ("method", show(py, self.method())),
                ("url", show(py, &self.0.url)),
                ("headers", show(py, headers)),
                ("body", None),
                ("timeout_ms", show(py, self.0.timeout_ms)),
            ],
        )
    }
}

/// Perform `request`, then call `handle_response` or `handle_transport_error` with its id.
#[pyclass(name = "Send", frozen, get_all, module = "deviceflow")]
pub struct SendAction {
    request: Py<HttpRequest>,
}

/// Show `prompt` to the user (RFC 8628 §3.3). Handed out once.
#[pyclass(frozen, get_all, module = "deviceflow")]
pub struct Display {
    prompt: Py<Prompt>,
}

/// Nothing to do before `until` (`delay_ms` from the `now_ms` given). Waking early is harmless.
#[pyclass(frozen, get_all, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct Wait {
    until: u64,
    delay_ms: u64,
    reason: &'static str,
}

/// A request is in flight: feed its response.
#[pyclass(frozen, get_all, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct AwaitingResponse {
    id: u64,
}

/// DPoP: sign `input` (UTF-8) with ES256, then `handle_signature(id, signature)`
/// (raw r||s or DER). Repeats until answered.
#[pyclass(frozen, get_all, eq, module = "deviceflow")]
#[derive(PartialEq)]
pub struct Sign {
    id: u64,
    input: String,
}

/// Finished: `result` is a `TokenSet`, `ServerMetadata` or `Revoked`.
#[pyclass(frozen, get_all, module = "deviceflow")]
pub struct Done {
    result: Py<PyAny>,
}

/// Finished without a result: `error` is the `DeviceFlowError` to raise.
#[pyclass(frozen, get_all, module = "deviceflow")]
pub struct Failed {
    error: Py<PyAny>,
}

/// `__match_args__` and a redacting `__repr__` for each action class.
macro_rules! action_dunders {
    ($class:ident, $($field:ident),+) => {
        #[pymethods]
        impl $class {
            #[classattr]
            fn __match_args__(py: Python<'_>) -> Py<PyAny> {
                show(py, ($(stringify!($field),)+)).expect("a tuple of str")
            }
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let (py, this) = (slf.py(), slf.get());
                let name = slf.get_type().name()?;
                repr(py, &name.to_cow()?, &[$((stringify!($field), show(py, &this.$field))),+])
            }
        }
    };
}
action_dunders!(SendAction, request);
action_dunders!(Display, prompt);
action_dunders!(Wait, until, delay_ms, reason);
action_dunders!(AwaitingResponse, id);
action_dunders!(Sign, id, input);
action_dunders!(Done, result);
action_dunders!(Failed, error);

/// A finished operation's result as its Python class.
pub trait ResultToPy {
    fn to_py(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}
impl ResultToPy for core::TokenSet {
    fn to_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, TokenSet(self))?.into_any())
    }
}
impl ResultToPy for core::ServerMetadata {
    fn to_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, ServerMetadata(self))?.into_any())
    }
}
impl ResultToPy for core::Revoked {
    fn to_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(
            py,
            Revoked {
                status: self.status,
            },
        )?
        .into_any())
    }
}

pub fn action_to_py<T: ResultToPy>(py: Python<'_>, action: core::Action<T>) -> PyResult<Py<PyAny>> {
    Ok(match action {
        core::Action::Send(req) => {
            let request = Py::new(py, HttpRequest(req))?;
            Py::new(py, SendAction { request })?.into_any()
        }
        core::Action::Sign { id, input } => Py::new(py, Sign { id: id.0, input })?.into_any(),
        core::Action::Display(p) => {
            let prompt = Py::new(py, Prompt::from(p))?;
            Py::new(py, Display { prompt })?.into_any()
        }
        core::Action::Wait {
            until,
            delay_ms,
            reason,
        } => {
            let reason = reason.as_str();
            Py::new(
                py,
                Wait {
                    until: until.0,
                    delay_ms,
                    reason,
                },
            )?
            .into_any()
        }
        core::Action::AwaitingResponse { id } => {
            Py::new(py, AwaitingResponse { id: id.0 })?.into_any()
        }
        core::Action::Done(result) => Py::new(
            py,
            Done {
                result: result.to_py(py)?,
            },
        )?
        .into_any(),
        core::Action::Failed(e) => Py::new(
            py,
            Failed {
                error: flow_error(py, e)?,
            },
        )?
        .into_any(),
    })
}
