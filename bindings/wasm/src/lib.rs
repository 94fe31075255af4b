//! The wasm-bindgen surface of the deviceflow core, used by the npm package
//! `deviceflow` (`pkg/`). Deliberately raw: values cross as JSON text (the core's
//! serde form, documented in `tests/vectors/README.md`) and bytes; the JS layer in
//! `pkg/src/` turns them into objects, `Error` subclasses with `.code`, and the
//! fetch/timer driver. Keeping the Rust side this small keeps the `.wasm` small.
//!
//! Why JSON text: `JSON.parse` is fast and never fails on integers above 2^53, which a
//! hostile token response can put in `extra`. The text comes from the core's own small JSON
//! reader and writer (`deviceflow::json`), not serde: serde_json's generic code was most of
//! the module.

use deviceflow::json::{self, Fields, Object, ToJson, Value};
use deviceflow::{
    Action, DeviceFlow, Discovery, Dpop, Header, HttpResponse, MisuseError, Refresh, RequestId,
    Revocation, Timestamp, TransportError,
};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

mod config;

// SAFETY: a wasm32 module without threads: every call into it runs on the one JS thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// One sans-IO operation: the device flow, discovery, refresh or revocation.
/// All four share the same methods, so one JS class wraps them.
#[wasm_bindgen]
pub struct Machine(Op);

enum Op {
    Flow(Box<DeviceFlow>),
    Discovery(Discovery),
    Refresh(Refresh),
    Revocation(Revocation),
}

/// Milliseconds from JS (`Date.now()`, a double) to the core's clock.
fn ts(now: f64) -> Timestamp {
    Timestamp(if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    })
}

/// `""` for success, else the misuse code (`unknown_request`, `finished`) and message as JSON.
fn outcome(result: Result<(), MisuseError>) -> String {
    match result {
        Ok(()) => String::new(),
        Err(e) => {
            let mut out = String::new();
            Fields::open(&mut out)
                .str("code", e.code())
                .str("message", &e.to_string())
                .close();
            out
        }
    }
}

fn action<T>(a: Action<T>) -> String
where
    Action<T>: ToJson,
{
    a.to_json()
}

/// `[name, value, name, value, ...]` from JS as the core's headers.
fn header_list(headers: Vec<String>) -> Vec<Header> {
    headers
        .chunks_exact(2)
        .map(|h| Header::new(&h[0], &h[1]))
        .collect()
}

/// DPoP nonces per origin as a JSON object.
fn nonces_json(nonces: &BTreeMap<String, String>) -> String {
    let mut o = Object::new();
    for (origin, nonce) in nonces {
        o.insert(origin.clone(), Value::String(nonce.clone()));
    }
    Value::Object(o).to_json()
}

macro_rules! each {
    ($self:ident, $m:ident => $e:expr) => {
        match &mut $self.0 {
            Op::Flow($m) => $e,
            Op::Discovery($m) => $e,
            Op::Refresh($m) => $e,
            Op::Revocation($m) => $e,
        }
    };
}

#[wasm_bindgen]
impl Machine {
    /// `kind`: `device_flow` | `discovery` | `refresh` | `revocation`; `config`: the core's
    /// config JSON (read by `config.rs`). A bad config throws an `Error` whose message the JS
    /// layer wraps as `invalid_config`.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, config: &str, now: f64) -> Result<Machine, JsError> {
        Self::build(kind, config, ts(now)).map_err(|e| JsError::new(&e))
    }

    fn build(kind: &str, config: &str, now: Timestamp) -> Result<Machine, String> {
        let v: Value = json::parse(config)?;
        let text = |e: deviceflow::ConfigError| e.to_string();
        let op = match kind {
            "device_flow" => Op::Flow(Box::new(
                DeviceFlow::new(config::device_flow(&v)?, now).map_err(text)?,
            )),
            "discovery" => {
                let (issuer, timing) = config::discovery(&v)?;
                Op::Discovery(Discovery::with_timing(&issuer, timing, now).map_err(text)?)
            }
            "refresh" => {
                let o = v.as_object().ok_or("the configuration must be an object")?;
                let m = Refresh::new(config::refresh(&v)?, now)
                    .map_err(text)?
                    .with_extra_token_types(config::extra_token_types(o)?);
                Op::Refresh(match config::dpop(o)? {
                    Some(d) => m.with_dpop(d).map_err(text)?,
                    None => m,
                })
            }
            "revocation" => {
                let m = Revocation::new(config::revocation(&v)?, now).map_err(text)?;
                Op::Revocation(match config::dpop(object(&v)?)? {
                    Some(d) => m.with_dpop(d).map_err(text)?,
                    None => m,
                })
            }
            other => return Err(format!("unknown operation \"{other}\"")),
        };
        Ok(Machine(op))
    }

    /// The next action as JSON (`{"type": "send" | "display" | ...}`).
    pub fn poll(&mut self, now: f64) -> String {
        each!(self, m => action(m.poll_action(ts(now))))
    }

    /// Feeds a response. `headers`: `[name, value, name, value, ...]`. Returns `""` or a misuse JSON.
    pub fn respond(
        &mut self,
        id: f64,
        status: u16,
        headers: Vec<String>,
        body: &[u8],
        now: f64,
    ) -> String {
        let response = HttpResponse::new(status, header_list(headers), body);
        each!(self, m => outcome(m.handle_response(RequestId(id as u64), response, ts(now))))
    }

    /// The DPoP signature for the `sign` action with this id (ES256: raw `r||s` or DER).
    /// Returns `""` or a misuse JSON (`invalid_signature`, `unknown_request`, `finished`).
    pub fn sign(&mut self, id: f64, signature: &[u8], now: f64) -> String {
        each!(self, m => outcome(m.handle_signature(RequestId(id as u64), signature, ts(now))))
    }

    /// The DPoP nonces learnt per origin as a JSON object, or `""` when DPoP is off.
    pub fn dpop_nonces(&self) -> String {
        let dpop = match &self.0 {
            Op::Flow(m) => m.dpop(),
            Op::Discovery(m) => m.dpop(),
            Op::Refresh(m) => m.dpop(),
            Op::Revocation(m) => m.dpop(),
        };
        dpop.map(|d| nonces_json(d.nonces())).unwrap_or_default()
    }

    /// `kind`: `timeout` | `connect` | `tls` | `io` | anything else means `other`.
    pub fn transport_error(&mut self, id: f64, kind: &str, now: f64) -> String {
        let kind = match kind {
            "timeout" => TransportError::Timeout,
            "connect" => TransportError::Connect,
            "tls" => TransportError::Tls,
            "io" => TransportError::Io,
            _ => TransportError::Other,
        };
        each!(self, m => outcome(m.handle_transport_error(RequestId(id as u64), kind, ts(now))))
    }

    pub fn cancel(&mut self, now: f64) -> String {
        each!(self, m => outcome(m.cancel(ts(now))))
    }

    /// The current prompt as JSON, or `""` (device flow only; a level-triggered view of `display`).
    pub fn prompt(&self) -> String {
        match &self.0 {
            Op::Flow(m) => m.prompt().map(ToJson::to_json).unwrap_or_default(),
            _ => String::new(),
        }
    }
}

fn object(v: &Value) -> Result<&Object, String> {
    v.as_object()
        .ok_or_else(|| "the configuration must be an object".to_owned())
}

/// DPoP proofs for resource requests (the core's `Dpop`): `input` gives the signing input
/// (with `ath` and the origin's nonce), the host signs it, `headers` joins both into
/// `Authorization: DPoP <token>` and `DPoP: <proof>`; `respond` learns a resource server's
/// `DPoP-Nonce` and says whether to retry.
#[wasm_bindgen]
pub struct DpopProofs(Dpop);

#[wasm_bindgen]
impl DpopProofs {
    /// `config`: `{"jwk": {...}, "entropy": "...", "nonces": {...}}` (the `dpop` config).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str) -> Result<DpopProofs, JsError> {
        let build = || -> Result<Dpop, String> {
            let mut wrapper = Object::new();
            wrapper.insert("dpop", json::parse(config)?);
            let d = config::dpop(&wrapper)?.ok_or("dpop: a configuration is required")?;
            Dpop::new(d).map_err(|e| e.to_string())
        };
        build().map(DpopProofs).map_err(|e| JsError::new(&e))
    }

    /// The JWS signing input of a proof for this request, `ath` from the token.
    pub fn input(&mut self, method: &str, url: &str, access_token: &str, now: f64) -> String {
        self.0.resource_input(method, url, access_token, ts(now))
    }

    /// The two headers as JSON `[{name, value}]`, or a misuse JSON (`invalid_signature`)
    /// under `{"misuse": ...}`.
    pub fn headers(input: &str, signature: &[u8], access_token: &str) -> String {
        match Dpop::resource_headers(input, signature, access_token) {
            Ok(headers) => Value::Array(
                headers
                    .iter()
                    .map(|h| {
                        let mut o = Object::new();
                        o.insert("name", Value::String(h.name.clone()));
                        o.insert("value", Value::String(h.value.clone()));
                        Value::Object(o)
                    })
                    .collect(),
            )
            .to_json(),
            Err(e) => format!(r#"{{"misuse":{}}}"#, outcome(Err(e))),
        }
    }

    /// Records the response's `DPoP-Nonce` for the URL's origin; true when the response is a
    /// `use_dpop_nonce` challenge (401 `WWW-Authenticate: DPoP`, or a 400 token error).
    pub fn respond(&mut self, url: &str, status: u16, headers: Vec<String>, body: &[u8]) -> bool {
        self.0
            .handle_response(url, &HttpResponse::new(status, header_list(headers), body))
    }

    /// The nonces known per origin, as a JSON object.
    pub fn nonces(&self) -> String {
        nonces_json(self.0.nonces())
    }
}

/// Every `FlowError` code, so the JS layer can check its error classes cover them.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> String {
    let codes: Vec<Value> = deviceflow::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().into())
        .collect();
    Value::Array(codes).to_json()
}

/// Test hook, not API (the JS layer does not export it): traps the instance the way a bug
/// under `panic = "abort"` would, so the tests can show the failing operation gets an
/// `InternalError` and the next one runs on a fresh instance (`pkg/src/binding.js`).
#[wasm_bindgen(js_name = __trapForTests)]
pub fn trap_for_tests() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
