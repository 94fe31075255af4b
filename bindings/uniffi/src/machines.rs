//! The four sans-IO machines as uniffi Objects. uniffi objects are shared
//! (`&self`), so each holds its core machine behind a `Mutex`. Every call runs in
//! [`guard`]; times are the caller's milliseconds (drivers use the Unix epoch).

use crate::config::{timing, FlowConfig, RefreshConfig, RevocationConfig};
use crate::error::{guard, lock, FlowError};
use crate::types::{Action, DiscoveryAction, HttpResponse, RevocationAction};
use deviceflow as core;
use deviceflow::{Prompt, ServerMetadata, TransportError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The shared sans-IO methods of every machine (same contract as the core's).
macro_rules! sans_io_methods {
    ($name:ident, $action:ty) => {
        #[uniffi::export]
        impl $name {
            /// The next thing to do. `Send` (and `Display`) are handed out once each.
            pub fn poll_action(&self, now: u64) -> Result<$action, FlowError> {
                guard(|| Ok(lock(&self.0)?.poll_action(core::Timestamp(now)).into()))
            }
            /// Feeds the response (any HTTP status) to the request with this id.
            pub fn handle_response(
                &self,
                id: u64,
                response: HttpResponse,
                now: u64,
            ) -> Result<(), FlowError> {
                guard(|| {
                    let mut m = lock(&self.0)?;
                    Ok(m.handle_response(
                        core::RequestId(id),
                        response.into(),
                        core::Timestamp(now),
                    )?)
                })
            }
            /// The request with this id got no HTTP response (RFC 8628 §3.5 backoff).
            pub fn handle_transport_error(
                &self,
                id: u64,
                kind: TransportError,
                now: u64,
            ) -> Result<(), FlowError> {
                guard(|| {
                    let mut m = lock(&self.0)?;
                    Ok(m.handle_transport_error(core::RequestId(id), kind, core::Timestamp(now))?)
                })
            }
            /// Stops at once: the next action is `Failed` with code `cancelled`.
            pub fn cancel(&self, now: u64) -> Result<(), FlowError> {
                guard(|| Ok(lock(&self.0)?.cancel(core::Timestamp(now))?))
            }
            /// True after `Done` or `Failed`.
            pub fn is_finished(&self) -> Result<bool, FlowError> {
                guard(|| Ok(lock(&self.0)?.is_finished()))
            }
        }
    };
}

/// What the machines that POST add for DPoP (Discovery only GETs and never signs).
macro_rules! dpop_methods {
    ($name:ident) => {
        #[uniffi::export]
        impl $name {
            /// The ES256 signature `Sign` with this id asked for (raw `r||s` or DER);
            /// the `Send` with the `DPoP` header follows. `invalid_signature` otherwise.
            pub fn handle_signature(
                &self,
                id: u64,
                signature: Vec<u8>,
                now: u64,
            ) -> Result<(), FlowError> {
                guard(|| {
                    let mut m = lock(&self.0)?;
                    Ok(m.handle_signature(core::RequestId(id), &signature, core::Timestamp(now))?)
                })
            }
            /// The `DPoP-Nonce` learnt per origin (empty without DPoP), for later operations.
            pub fn dpop_nonces(&self) -> Result<HashMap<String, String>, FlowError> {
                guard(|| Ok(crate::dpop::nonces(lock(&self.0)?.dpop())))
            }
        }
    };
}

/// An OAuth 2.0 device authorization grant login (RFC 8628), sans-IO.
#[derive(uniffi::Object)]
pub struct DeviceFlow(Mutex<core::DeviceFlow>);

#[uniffi::export]
impl DeviceFlow {
    /// A new flow; throws `FlowError` with code `invalid_config` for a bad config.
    #[uniffi::constructor]
    pub fn new(config: FlowConfig, now: u64) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            let flow = core::DeviceFlow::new((&config).into(), core::Timestamp(now))?;
            Ok(Arc::new(DeviceFlow(Mutex::new(flow))))
        })
    }
    /// The current prompt, to re-render it (the `Display` action fires once).
    pub fn prompt(&self) -> Result<Option<Prompt>, FlowError> {
        guard(|| Ok(lock(&self.0)?.prompt().cloned()))
    }
    /// The server metadata, once discovery has run.
    pub fn metadata(&self) -> Result<Option<ServerMetadata>, FlowError> {
        guard(|| Ok(lock(&self.0)?.metadata().cloned()))
    }
}
sans_io_methods!(DeviceFlow, Action);
dpop_methods!(DeviceFlow);

/// Fetches an issuer's metadata (OpenID Connect Discovery / RFC 8414), sans-IO.
#[derive(uniffi::Object)]
pub struct Discovery(Mutex<core::Discovery>);

#[uniffi::export]
impl Discovery {
    #[uniffi::constructor(default(timing = None))]
    pub fn new(
        issuer: String,
        now: u64,
        timing: Option<crate::config::Timing>,
    ) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            let d =
                core::Discovery::with_timing(&issuer, self::timing(&timing), core::Timestamp(now))?;
            Ok(Arc::new(Discovery(Mutex::new(d))))
        })
    }
}
sans_io_methods!(Discovery, DiscoveryAction);

/// Refreshes an access token (RFC 6749 §6), sans-IO. `Failed` with
/// `invalid_grant` means the user must log in again.
#[derive(uniffi::Object)]
pub struct Refresh(Mutex<core::Refresh>);

#[uniffi::export]
impl Refresh {
    #[uniffi::constructor]
    pub fn new(config: RefreshConfig, now: u64) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            let mut r = core::Refresh::new((&config).into(), core::Timestamp(now))?
                .with_extra_token_types(config.extra_token_types.clone());
            if let Some(d) = &config.dpop {
                r = r.with_dpop(d.into())?;
            }
            Ok(Arc::new(Refresh(Mutex::new(r))))
        })
    }
}
sans_io_methods!(Refresh, Action);
dpop_methods!(Refresh);

/// Revokes a token (RFC 7009), sans-IO.
#[derive(uniffi::Object)]
pub struct Revocation(Mutex<core::Revocation>);

#[uniffi::export]
impl Revocation {
    #[uniffi::constructor]
    pub fn new(config: RevocationConfig, now: u64) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            let mut r = core::Revocation::new((&config).into(), core::Timestamp(now))?;
            if let Some(d) = &config.dpop {
                r = r.with_dpop(d.into())?;
            }
            Ok(Arc::new(Revocation(Mutex::new(r))))
        })
    }
}
sans_io_methods!(Revocation, RevocationAction);
dpop_methods!(Revocation);
