//! Browser sessions for the verification pages, kept in the browser: the cookie carries the
//! session's state, signed with HMAC-SHA-256 under a key kept in the store.
//!
//! So the server holds no session table: flooding it with cookieless requests evicts nobody,
//! and a restart (or another instance on the same store) knows every session. The CSRF token is
//! derived from the session id under the same key. The cookie is HttpOnly, SameSite=Lax, and
//! under https `Secure` with the `__Host-` prefix.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::engine::codes::ct_eq;
use crate::engine::{random, Random};

const COOKIE: &str = "deviceflow_session";
const SECURE_COOKIE: &str = "__Host-deviceflow_session";
pub const SESSION_TTL_MS: i64 = 30 * 60_000;
/// A cookie longer than this is not ours (ours stay well under 1 KiB).
const MAX_COOKIE: usize = 2048;

/// What a session knows. Only `csrf` is ever put in a page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "t")]
    pub created_ms: i64,
    /// A `user_code` read from the URL, waiting to prefill the form.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    /// The request on the confirmation page (device id) and who is signed in.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub confirming: Option<(String, String)>,
    #[serde(skip)]
    pub csrf: String,
}

pub struct Sessions {
    key: [u8; 32],
    secure: bool,
}

impl Sessions {
    /// `secure`: the pages are served over https (the cookie gets `Secure` and `__Host-`).
    pub fn new(key: [u8; 32], secure: bool) -> Self {
        Sessions { key, secure }
    }

    fn name(&self) -> &'static str {
        if self.secure {
            SECURE_COOKIE
        } else {
            COOKIE
        }
    }

    fn mac(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(label);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The request's valid, unexpired session, if any.
    pub fn current(&self, headers: &HeaderMap, now_ms: i64) -> Option<Session> {
        let value = cookie(headers, self.name())?;
        let (payload, sig) = value.split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        if !ct_eq(&sig, &self.mac(b"session\0", payload.as_bytes())) {
            return None;
        }
        let mut s: Session = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        if !(0..SESSION_TTL_MS).contains(&(now_ms - s.created_ms)) {
            return None;
        }
        s.csrf = self.csrf(&s.id);
        Some(s)
    }

    /// The request's session, or a new one (which the reply must then [`Sessions::set`]).
    pub fn current_or_new(
        &self,
        headers: &HeaderMap,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> (Session, bool) {
        match self.current(headers, now_ms) {
            Some(s) => (s, false),
            None => {
                let id = random::token(rng, 16);
                let session = Session {
                    csrf: self.csrf(&id),
                    id,
                    created_ms: now_ms,
                    ..Session::default()
                };
                (session, true)
            }
        }
    }

    /// The existing session for a form POST, if its CSRF token matches `csrf`.
    pub fn verified(&self, headers: &HeaderMap, csrf: &str, now_ms: i64) -> Option<Session> {
        let s = self.current(headers, now_ms)?;
        ct_eq(s.csrf.as_bytes(), csrf.as_bytes()).then_some(s)
    }

    fn csrf(&self, id: &str) -> String {
        B64.encode(self.mac(b"csrf\0", id.as_bytes()))
    }

    /// The `Set-Cookie` header that stores `session` in the browser.
    pub fn set(&self, session: &Session, now_ms: i64) -> Option<HeaderValue> {
        let payload = B64.encode(serde_json::to_vec(session).ok()?);
        let sig = B64.encode(self.mac(b"session\0", payload.as_bytes()));
        let max_age = ((session.created_ms + SESSION_TTL_MS - now_ms) / 1000).max(1);
        let secure = if self.secure { "; Secure" } else { "" };
        let set = format!(
            "{}={payload}.{sig}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.name()
        );
        HeaderValue::from_str(&set).ok()
    }
}

/// The value of cookie `name`: one pass over the `Cookie` headers, ignoring oversized ones.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && v.len() <= MAX_COOKIE)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsRandom;

    fn headers_with(set: &HeaderValue) -> HeaderMap {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        h
    }

    #[test]
    fn a_session_round_trips_and_survives_a_new_instance_with_the_same_key() {
        let a = Sessions::new([1; 32], false);
        let (mut s, new) = a.current_or_new(&HeaderMap::new(), 1_000, &mut OsRandom);
        assert!(new);
        s.confirming = Some(("dev".into(), "alice".into()));
        let h = headers_with(&a.set(&s, 1_000).unwrap());
        let b = Sessions::new([1; 32], false);
        assert_eq!(b.current(&h, 2_000), Some(s.clone()));
        assert!(b.verified(&h, &s.csrf, 2_000).is_some());
        assert!(b.verified(&h, "wrong", 2_000).is_none());
        // Another key, expiry, tampering: no session.
        assert!(Sessions::new([2; 32], false).current(&h, 2_000).is_none());
        assert!(b.current(&h, 1_000 + SESSION_TTL_MS).is_none());
        let forged = h.get(header::COOKIE).unwrap().to_str().unwrap().replacen(
            "deviceflow_session=e",
            "deviceflow_session=f",
            1,
        );
        let mut h2 = HeaderMap::new();
        h2.insert(header::COOKIE, HeaderValue::from_str(&forged).unwrap());
        assert!(b.current(&h2, 2_000).is_none());
    }

    #[test]
    fn https_cookies_are_secure_and_host_prefixed() {
        let s = Sessions::new([1; 32], true);
        let (session, _) = s.current_or_new(&HeaderMap::new(), 0, &mut OsRandom);
        let set = s.set(&session, 0).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-deviceflow_session="));
        assert!(set.contains("; Secure") && set.contains("HttpOnly") && set.contains("Path=/"));
        assert!(s
            .current(&headers_with(&s.set(&session, 0).unwrap()), 1)
            .is_some());
    }
}
