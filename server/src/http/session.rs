//! Browser sessions for the verification pages, kept in the browser: the cookie carries the
//! session's state, signed with HMAC-SHA-256 under a key kept in the store.
//!
//! So the server holds no session table: flooding it with cookieless requests evicts nobody,
//! and a restart (or another instance on the same store) knows every session. The CSRF token is
//! derived from the session id under the same key. The cookie is HttpOnly, SameSite=Lax, scoped
//! to the pages' path (the issuer's path: `/` unless the server is mounted under a prefix), and
//! under https `Secure` with the `__Host-` prefix (`__Secure-` under a prefix, where `__Host-`
//! is not allowed).

use std::fmt;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::engine::codes::ct_eq;
use crate::engine::{random, Random};

const COOKIE: &str = "deviceflow_session";
const HOST_COOKIE: &str = "__Host-deviceflow_session";
const PREFIXED_COOKIE: &str = "__Secure-deviceflow_session";
pub const SESSION_TTL_MS: i64 = 30 * 60_000;
/// A cookie longer than this is not ours (ours stay under 2 KiB: user ids are capped at 255
/// bytes and display names at 64 characters).
const MAX_COOKIE: usize = 4096;

/// What a session knows. Only `csrf` is ever put in a page. `Debug` leaves out the prefilled
/// code, the CSRF token and the pending login's secrets.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "t")]
    pub created_ms: i64,
    /// A `user_code` read from the URL, waiting to prefill the form.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    /// The request on the confirmation page (device id) and the id of the user it was shown to.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub confirming: Option<(String, String)>,
    /// Who signed in on these pages (dev name box, upstream OpenID provider). The header and
    /// host sign-ins keep nothing here: they are asked on every request.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SessionUser>,
    /// An upstream sign-in under way: what the callback must find again.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub login: Option<PendingLogin>,
    /// The user asked to sign in as someone else: the next upstream sign-in asks again
    /// (`prompt=login`) instead of reusing the provider's own session.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    pub reauth: bool,
    #[serde(skip)]
    pub csrf: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("created_ms", &self.created_ms)
            .field("prefill", &self.prefill.as_ref().map(|_| "<redacted>"))
            .field("confirming", &self.confirming)
            .field("user", &self.user)
            .field("login", &self.login)
            .field("reauth", &self.reauth)
            .finish_non_exhaustive()
    }
}

/// A user signed in on the pages, until `until_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "u")]
    pub until_ms: i64,
}

/// The upstream authorization request in flight (OpenID Connect with PKCE, RFC 7636): the
/// `state` the callback must echo, the `nonce` the ID token must carry, and the PKCE verifier.
/// The cookie is signed, HttpOnly and sent only to these pages; none of these is ever logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    #[serde(rename = "s")]
    pub state: String,
    #[serde(rename = "n")]
    pub nonce: String,
    #[serde(rename = "v")]
    pub verifier: String,
    #[serde(rename = "t")]
    pub started_ms: i64,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("started_ms", &self.started_ms)
            .finish_non_exhaustive()
    }
}

pub struct Sessions {
    key: [u8; 32],
    secure: bool,
    path: String,
}

impl Sessions {
    /// `secure`: the pages are served over https (the cookie gets `Secure` and a `__Host-` or
    /// `__Secure-` name). `path`: where the pages live (`/`, or the mount prefix `/login/device`).
    pub fn new(key: [u8; 32], secure: bool, path: &str) -> Self {
        let path = match path.trim_end_matches('/') {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Sessions { key, secure, path }
    }

    fn name(&self) -> &'static str {
        match (self.secure, self.path.as_str()) {
            (false, _) => COOKIE,
            (true, "/") => HOST_COOKIE,
            (true, _) => PREFIXED_COOKIE,
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
            None => (self.fresh(now_ms, rng), true),
        }
    }

    /// A new, empty session.
    pub fn fresh(&self, now_ms: i64, rng: &mut dyn Random) -> Session {
        let id = random::token(rng, 16);
        Session {
            csrf: self.csrf(&id),
            id,
            created_ms: now_ms,
            ..Session::default()
        }
    }

    /// The session a sign-in ends in: a new id (so a new CSRF token and a full lifetime), the
    /// prefilled code kept, nothing else.
    pub fn renewed(&self, old: &Session, now_ms: i64, rng: &mut dyn Random) -> Session {
        Session {
            prefill: old.prefill.clone(),
            ..self.fresh(now_ms, rng)
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
            "{}={payload}.{sig}; Path={}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.name(),
            self.path,
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
        let a = Sessions::new([1; 32], false, "/");
        let (mut s, new) = a.current_or_new(&HeaderMap::new(), 1_000, &mut OsRandom);
        assert!(new);
        s.confirming = Some(("dev".into(), "alice".into()));
        s.user = Some(SessionUser {
            id: "alice".into(),
            name: "Alice".into(),
            until_ms: 5_000,
        });
        s.login = Some(PendingLogin {
            state: "st".into(),
            nonce: "no".into(),
            verifier: "ve".into(),
            started_ms: 1_000,
        });
        let h = headers_with(&a.set(&s, 1_000).unwrap());
        let b = Sessions::new([1; 32], false, "/");
        assert_eq!(b.current(&h, 2_000), Some(s.clone()));
        assert!(b.verified(&h, &s.csrf, 2_000).is_some());
        assert!(b.verified(&h, "wrong", 2_000).is_none());
        // Another key, expiry, tampering: no session.
        assert!(Sessions::new([2; 32], false, "/")
            .current(&h, 2_000)
            .is_none());
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
        let s = Sessions::new([1; 32], true, "/");
        let (session, _) = s.current_or_new(&HeaderMap::new(), 0, &mut OsRandom);
        let set = s.set(&session, 0).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-deviceflow_session="));
        assert!(set.contains("; Secure") && set.contains("HttpOnly") && set.contains("Path=/;"));
        assert!(s
            .current(&headers_with(&s.set(&session, 0).unwrap()), 1)
            .is_some());
    }

    #[test]
    fn under_a_prefix_the_cookie_is_scoped_to_it() {
        let s = Sessions::new([1; 32], true, "/login/device/");
        let (session, _) = s.current_or_new(&HeaderMap::new(), 0, &mut OsRandom);
        let set = s.set(&session, 0).unwrap();
        let set = set.to_str().unwrap();
        // `__Host-` requires `Path=/`; under a prefix the cookie is `__Secure-` and path-scoped.
        assert!(set.starts_with("__Secure-deviceflow_session="), "{set}");
        assert!(set.contains("; Path=/login/device;"), "{set}");
        let plain = Sessions::new([1; 32], false, "/login/device");
        let set = plain.set(&session, 0).unwrap();
        assert!(set.to_str().unwrap().starts_with("deviceflow_session="));
        assert!(plain.current(&headers_with(&set), 1).is_some());
    }

    #[test]
    fn a_renewed_session_has_a_new_id_and_csrf_and_keeps_only_the_prefill() {
        let s = Sessions::new([1; 32], false, "/");
        let (mut old, _) = s.current_or_new(&HeaderMap::new(), 0, &mut OsRandom);
        old.prefill = Some("BCDF-GHJK".into());
        old.confirming = Some(("dev".into(), "mallory".into()));
        let new = s.renewed(&old, 10, &mut OsRandom);
        assert_ne!(new.id, old.id);
        assert_ne!(new.csrf, old.csrf);
        assert_eq!(new.created_ms, 10);
        assert_eq!(new.prefill, old.prefill);
        assert_eq!(new.confirming, None);
    }

    #[test]
    fn debug_never_shows_codes_csrf_or_the_pending_login_secrets() {
        let login = PendingLogin {
            state: "state-secret".into(),
            nonce: "nonce-secret".into(),
            verifier: "verifier-secret".into(),
            started_ms: 7,
        };
        let session = Session {
            login: Some(login),
            prefill: Some("BCDF-GHJK".into()),
            csrf: "csrf-token".into(),
            ..Session::default()
        };
        let shown = format!("{session:?}");
        assert!(shown.contains("started_ms: 7"), "{shown}");
        for secret in [
            "state-secret",
            "nonce-secret",
            "verifier-secret",
            "BCDF-GHJK",
            "csrf-token",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
