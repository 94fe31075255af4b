//! DPoP (RFC 9449): proof-of-possession proofs, built here and signed by the host.
//!
//! The core never holds the private key unless the host asks it to (the
//! `software-key` feature's [`SoftwareKey`](crate::SoftwareKey)). It builds the
//! proof's header and claims, hands the JWS signing input out in
//! [`Action::Sign`](crate::Action::Sign), takes the ES256 signature back (raw
//! `r||s` or DER, as keystores return it) and attaches the `DPoP` header to the
//! request. `DPOP.md` beside `src/` describes the design.

use crate::error::{ConfigError, MisuseError};
use crate::http::{Header, HttpResponse, Timestamp};
use crate::nonces::Nonces;
use crate::wire::B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The public half of an EC P-256 key as a JWK (RFC 7517): `x` and `y` base64url.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicJwk {
    #[serde(default = "ec")]
    pub kty: String,
    #[serde(default = "p256")]
    pub crv: String,
    pub x: String,
    pub y: String,
}

fn ec() -> String {
    "EC".into()
}
fn p256() -> String {
    "P-256".into()
}
fn yes() -> bool {
    true
}

impl PublicJwk {
    /// A P-256 public key from its base64url coordinates.
    pub fn p256(x: impl Into<String>, y: impl Into<String>) -> Self {
        PublicJwk {
            kty: ec(),
            crv: p256(),
            x: x.into(),
            y: y.into(),
        }
    }

    /// The members RFC 7638 hashes, in its order (also the proof header's `jwk`).
    fn canonical(&self) -> String {
        format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        )
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), base64url: the `jkt` a server binds tokens to.
    pub fn thumbprint(&self) -> String {
        B64.encode(Sha256::digest(self.canonical().as_bytes()))
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let coord = |c: &str| B64.decode(c).map(|b| b.len() == 32).unwrap_or(false);
        if self.kty != "EC" || self.crv != "P-256" || !coord(&self.x) || !coord(&self.y) {
            return Err(ConfigError::new(
                "dpop.jwk must be an EC P-256 public key with 32-byte base64url x and y",
            ));
        }
        Ok(())
    }
}

/// What a flow, refresh or revocation needs for DPoP: the public key, entropy for
/// `jti`, and the nonces already known per server origin.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopConfig {
    pub jwk: PublicJwk,
    /// At least 16 fresh random bytes, base64url, new for every machine. Each `jti`
    /// is SHA-256 of these, a counter, `iat`, `htm` and `htu` (the core has no RNG).
    pub entropy: String,
    /// Send a proof with the device authorization request too
    /// (draft-parecki-oauth-dpop-device-flow), binding the key to the whole grant.
    #[serde(default = "yes")]
    pub device_request: bool,
    /// Latest `DPoP-Nonce` per origin (`https://host[:port]`), e.g. from an earlier run.
    #[serde(default)]
    pub nonces: Nonces,
}

impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfig")
            .field("jkt", &self.jwk.thumbprint())
            .field("device_request", &self.device_request)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

impl DpopConfig {
    pub fn new(jwk: PublicJwk, entropy: impl Into<String>) -> Self {
        DpopConfig {
            jwk,
            entropy: entropy.into(),
            device_request: true,
            nonces: Nonces::new(),
        }
    }
}

/// Builds DPoP proofs and remembers nonces. The machines own one; a host makes its
/// own for resource requests ([`Dpop::resource_input`], [`Dpop::resource_headers`]).
#[derive(Clone)]
pub struct Dpop {
    config: DpopConfig,
    counter: u64,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

impl Dpop {
    pub fn new(config: DpopConfig) -> Result<Self, ConfigError> {
        config.jwk.validate()?;
        match B64.decode(config.entropy.trim_end_matches('=')) {
            Ok(b) if b.len() >= 16 => {}
            _ => {
                return Err(ConfigError::new(
                    "dpop.entropy must be at least 16 random bytes, base64url-encoded",
                ))
            }
        }
        Ok(Dpop { config, counter: 0 })
    }

    pub fn config(&self) -> &DpopConfig {
        &self.config
    }

    /// The key's thumbprint (`jkt`).
    pub fn thumbprint(&self) -> String {
        self.config.jwk.thumbprint()
    }

    /// The latest nonce per origin, to hand to a later operation.
    pub fn nonces(&self) -> &Nonces {
        &self.config.nonces
    }

    /// The JWS signing input (`header.claims`, base64url) of a proof for this
    /// request, with the nonce known for the URL's origin. `access_token` adds
    /// `ath` (resource requests). `now` must be Unix-epoch milliseconds.
    pub fn signing_input(
        &mut self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now: Timestamp,
    ) -> String {
        let htu = htu(url);
        let iat = now.0 / 1000;
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(self.config.entropy.as_bytes());
        h.update(self.counter.to_be_bytes());
        h.update(iat.to_be_bytes());
        h.update(method.as_bytes());
        h.update([0]);
        h.update(htu.as_bytes());
        let jti = B64.encode(&h.finalize()[..18]);
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
            self.config.jwk.canonical()
        );
        let mut claims = format!(
            r#"{{"jti":"{jti}","htm":{},"htu":{},"iat":{iat}"#,
            json_str(method),
            json_str(htu)
        );
        if let Some(nonce) = self.config.nonces.get(&origin(url)) {
            claims.push_str(&format!(r#","nonce":{}"#, json_str(nonce)));
        }
        if let Some(token) = access_token {
            claims.push_str(&format!(r#","ath":"{}""#, ath(token)));
        }
        claims.push('}');
        format!("{}.{}", B64.encode(header), B64.encode(claims))
    }

    /// Records a `DPoP-Nonce` header from any response of this URL's server, and says
    /// whether the response asks for a retry with it: a 400 `use_dpop_nonce` (token
    /// endpoint) or a 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` (resource).
    pub fn handle_response(&mut self, url: &str, resp: &HttpResponse) -> bool {
        let Some(nonce) = resp.header("dpop-nonce").filter(|n| nonce_ok(n)) else {
            return false;
        };
        self.config.nonces.insert(origin(url), nonce.to_owned());
        is_nonce_error(resp)
    }

    /// The `DPoP` header value: the signing input and the signature, which may be
    /// raw `r||s` (64 bytes, WebCrypto) or DER (Android Keystore, Apple, Java).
    pub fn proof(signing_input: &str, signature: &[u8]) -> Result<String, MisuseError> {
        let raw = raw_signature(signature).ok_or(MisuseError::InvalidSignature)?;
        Ok(format!("{signing_input}.{}", B64.encode(raw)))
    }

    /// The signing input for a resource request (same as [`Dpop::signing_input`] with `ath`).
    pub fn resource_input(
        &mut self,
        method: &str,
        url: &str,
        access_token: &str,
        now: Timestamp,
    ) -> String {
        self.signing_input(method, url, Some(access_token), now)
    }

    /// `Authorization: DPoP <token>` and `DPoP: <proof>` for a resource request.
    pub fn resource_headers(
        signing_input: &str,
        signature: &[u8],
        access_token: &str,
    ) -> Result<Vec<Header>, MisuseError> {
        Ok(vec![
            Header::new("authorization", format!("DPoP {access_token}")),
            Header::new("dpop", Dpop::proof(signing_input, signature)?),
        ])
    }

    /// Both resource headers at once, with a key the host can sign with synchronously.
    pub fn resource_headers_with(
        &mut self,
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
        method: &str,
        url: &str,
        access_token: &str,
        now: Timestamp,
    ) -> Result<Vec<Header>, MisuseError> {
        let input = self.resource_input(method, url, access_token, now);
        let signature = sign(input.as_bytes());
        Dpop::resource_headers(&input, &signature, access_token)
    }
}

/// `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    B64.encode(Sha256::digest(access_token.as_bytes()))
}

/// `htu`: the URL without query and fragment (RFC 9449 §4.2).
fn htu(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// `scheme://authority` of a URL, lower-cased: the key of the nonce cache.
fn origin(url: &str) -> String {
    let after = crate::wire::find(url, "://").map_or(0, |i| i + 3);
    let end = url[after..]
        .find(['/', '?', '#'])
        .map(|i| after + i)
        .unwrap_or(url.len());
    url[..end].to_ascii_lowercase()
}

/// A nonce is a short run of visible ASCII (RFC 9449 §8.1: NQCHAR); anything else is ignored.
fn nonce_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 512 && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"')
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::json::write_str(&mut out, s);
    out
}

fn is_nonce_error(resp: &HttpResponse) -> bool {
    match resp.status {
        400 => std::str::from_utf8(&resp.body)
            .ok()
            .and_then(|t| crate::json::parse(t).ok())
            .is_some_and(|v| match v {
                crate::json::Value::Object(o) => {
                    o.get("error").and_then(|e| e.as_str()) == Some("use_dpop_nonce")
                }
                _ => false,
            }),
        401 => resp
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("www-authenticate"))
            .any(|h| {
                let v = h.value.trim_start();
                v.len() > 4
                    && v[..4].eq_ignore_ascii_case("dpop")
                    && crate::wire::find(v, "use_dpop_nonce").is_some()
            }),
        _ => false,
    }
}

/// An ES256 signature as raw `r||s`: 64 bytes as given, or decoded from DER
/// (`SEQUENCE { INTEGER r, INTEGER s }`). `None` for anything else.
pub(crate) fn raw_signature(sig: &[u8]) -> Option<[u8; 64]> {
    if sig.len() == 64 {
        return sig.try_into().ok();
    }
    let (&tag, rest) = sig.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    if len as usize != rest.len() || len >= 0x80 {
        return None;
    }
    let mut out = [0u8; 64];
    let mut rest = rest;
    for half in 0..2 {
        let (&tag, r) = rest.split_first()?;
        let (&len, r) = r.split_first()?;
        let len = len as usize;
        if tag != 0x02 || len == 0 || len > 33 || r.len() < len {
            return None;
        }
        let (int, r) = r.split_at(len);
        let int = if len == 33 {
            if int[0] != 0 {
                return None;
            }
            &int[1..]
        } else {
            int
        };
        out[half * 32 + 32 - int.len()..half * 32 + 32].copy_from_slice(int);
        rest = r;
    }
    rest.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_raw_agree() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a leading zero in DER
        raw[31] = 1;
        raw[63] = 7; // s is short: 1 byte
        let der = [
            &[0x30, 2 + 33 + 2 + 1, 0x02, 33, 0][..],
            &raw[..32],
            &[0x02, 1, 7],
        ]
        .concat();
        assert_eq!(raw_signature(&der), Some(raw));
        assert_eq!(raw_signature(&raw), Some(raw));
        assert_eq!(raw_signature(&der[..der.len() - 1]), None);
        assert_eq!(raw_signature(&[1, 2, 3]), None);
    }

    #[test]
    fn htu_and_origin() {
        assert_eq!(htu("https://a.example/t?x=1#f"), "https://a.example/t");
        assert_eq!(
            origin("https://A.example:8443/t?x"),
            "https://a.example:8443"
        );
        assert_eq!(origin("https://a.example"), "https://a.example");
    }
}
