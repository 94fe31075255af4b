//! The wasm-bindgen surface of the deviceflow core, used by the npm package
//! `deviceflow` (`pkg/`). Deliberately raw: values cross as JSON text (the core's
//! serde form, documented in `tests/vectors/README.md`) and bytes; the JS layer in
//! `pkg/src/` turns them into objects, `Error` subclasses with `.code`, and the
//! fetch/timer driver. Keeping the Rust side this small keeps the `.wasm` small.
//!
//! Why JSON text: `JSON.parse` is fast and never fails on integers above 2^53, which a
//! hostile token response can put in `extra`. The text comes from the core's own small JSON
//! reader and writer (`deviceflow::json`, configurations by `json::config`), not serde:
//! serde's generic code was most of the module.

use deviceflow::json::{self, config, Fields, Object, ToJson};
use deviceflow::{
    ConfigError, DeviceFlow, Discovery, Dpop, DpopConfig, Header, HttpResponse, MisuseError,
    Refresh, RequestId, Revocation, Timestamp, TransportError,
};
use wasm_bindgen::prelude::*;

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

/// `""` for success, else the misuse code (`unknown_request`, `finished`, ...) and message as JSON.
fn outcome(result: Result<(), MisuseError>) -> String {
    let mut out = String::new();
    if let Err(e) = result {
        let mut f = Fields::open(&mut out);
        f.str("code", e.code())
            .str("message", &e.to_string())
            .close();
    }
    out
}

/// `[name, value, name, value, ...]` from JS as the core's headers.
fn header_list(headers: Vec<String>) -> Vec<Header> {
    headers
        .chunks_exact(2)
        .map(|h| Header::new(&h[0], &h[1]))
        .collect()
}

/// The machine for `kind` from its configuration document (read by `json::config`).
fn build(kind: &str, text: &str, now: Timestamp) -> Result<Op, String> {
    let v = json::parse(text)?;
    let o = config::object(&v, "the configuration")?;
    let err = |e: ConfigError| e.message;
    // Refresh and revocation take the `dpop` key after their own configuration.
    fn dpop<M>(
        m: M,
        o: &Object,
        add: fn(M, DpopConfig) -> Result<M, ConfigError>,
    ) -> Result<M, String> {
        match config::dpop(o)? {
            Some(d) => add(m, d).map_err(|e| e.message),
            None => Ok(m),
        }
    }
    Ok(match kind {
        "device_flow" => Op::Flow(Box::new(
            DeviceFlow::new(config::device_flow(&v)?, now).map_err(err)?,
        )),
        "discovery" => {
            let (issuer, timing) = config::discovery(o)?;
            Op::Discovery(Discovery::with_timing(&issuer, timing, now).map_err(err)?)
        }
        "refresh" => {
            let m = Refresh::new(config::refresh(o)?, now).map_err(err)?;
            let m = m.with_extra_token_types(config::extra_token_types(o)?);
            Op::Refresh(dpop(m, o, Refresh::with_dpop)?)
        }
        "revocation" => {
            let m = Revocation::new(config::revocation(o)?, now).map_err(err)?;
            Op::Revocation(dpop(m, o, Revocation::with_dpop)?)
        }
        other => return Err(format!("unknown operation \"{other}\"")),
    })
}

macro_rules! each {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
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
    /// config JSON. A bad config throws an `Error` whose message the JS layer wraps as
    /// `invalid_config`.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, config: &str, now: f64) -> Result<Machine, JsError> {
        build(kind, config, ts(now))
            .map(Machine)
            .map_err(|e| JsError::new(&e))
    }

    /// The next action as JSON (`{"type": "send" | "display" | ...}`).
    pub fn poll(&mut self, now: f64) -> String {
        each!(&mut self.0, m => m.poll_action(ts(now)).to_json())
    }

    /// Every input, as `""` or a misuse JSON. `event`: 0 a response (`status`, `headers`
    /// `[name, value, ...]`, `body`); 1 the DPoP signature in `body` for the `sign` action
    /// (ES256: raw `r||s` or DER); 2 a transport error, `status` its kind (0 other, 1 timeout,
    /// 2 connect, 3 tls, 4 io); 3 cancel.
    pub fn input(
        &mut self,
        event: u8,
        id: f64,
        status: u16,
        headers: Vec<String>,
        body: &[u8],
        now: f64,
    ) -> String {
        use TransportError::*;
        let (id, now) = (RequestId(id as u64), ts(now));
        outcome(match event {
            0 => {
                let response = HttpResponse::new(status, header_list(headers), body);
                each!(&mut self.0, m => m.handle_response(id, response, now))
            }
            1 => each!(&mut self.0, m => m.handle_signature(id, body, now)),
            2 => {
                let kind = [Other, Timeout, Connect, Tls, Io]
                    .get(status as usize)
                    .copied();
                each!(&mut self.0, m => m.handle_transport_error(id, kind.unwrap_or(Other), now))
            }
            _ => each!(&mut self.0, m => m.cancel(now)),
        })
    }

    /// `prompt`: the current prompt as JSON (device flow only; a level-triggered view of
    /// `display`); else the DPoP nonces learnt per origin as a JSON object. `""` when none.
    pub fn view(&self, prompt: bool) -> String {
        match &self.0 {
            Op::Flow(m) if prompt => m.prompt().map(ToJson::to_json),
            _ if prompt => None,
            op => each!(op, m => m.dpop()).map(|d| d.nonces().to_json()),
        }
        .unwrap_or_default()
    }
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
            Dpop::new(d).map_err(|e| e.message)
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
            Ok(headers) => headers.to_json(),
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
        self.0.nonces().to_json()
    }
}

/// Every `FlowError` code, so the JS layer can check its error classes cover them.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> String {
    let codes: Vec<json::Value> = deviceflow::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().into())
        .collect();
    codes.to_json()
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
