//! Browser sessions for the verification pages: a random id in an HttpOnly, SameSite=Lax cookie,
//! with the CSRF token and the flow's progress kept server-side.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap, HeaderValue};

use crate::engine::codes::ct_eq;
use crate::engine::{random, Random};

const COOKIE: &str = "deviceflow_session";
const MAX_SESSIONS: usize = 10_000;
const SESSION_TTL_MS: i64 = 30 * 60_000;

/// What a session knows. Never sent to the browser except `csrf`, inside the form.
#[derive(Clone, Default)]
pub struct Session {
    pub csrf: String,
    pub created_ms: i64,
    /// A `user_code` read from the URL, waiting to prefill the form.
    pub prefill: Option<String>,
    /// The request on the confirmation page, and who is signed in.
    pub confirming: Option<(String, String)>,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// The session named by the request's cookie, or a new one (then `Some(cookie)` to set).
    pub fn get_or_create(
        &self,
        headers: &HeaderMap,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> (String, Session, Option<HeaderValue>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = cookie(headers) {
            if let Some(s) = map.get(&id) {
                if now_ms - s.created_ms < SESSION_TTL_MS {
                    return (id, s.clone(), None);
                }
            }
        }
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| now_ms - s.created_ms < SESSION_TTL_MS);
        }
        if map.len() >= MAX_SESSIONS {
            // Still full of live sessions: the oldest one goes.
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.created_ms)
                .map(|(k, _)| k.clone());
            oldest.map(|k| map.remove(&k));
        }
        let id = random::token(rng, 32);
        let session = Session {
            csrf: random::token(rng, 32),
            created_ms: now_ms,
            ..Session::default()
        };
        map.insert(id.clone(), session.clone());
        let set = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1800");
        (id, session, HeaderValue::from_str(&set).ok())
    }

    /// The existing session for a form POST, if its CSRF token matches `csrf`.
    pub fn verified(
        &self,
        headers: &HeaderMap,
        csrf: &str,
        now_ms: i64,
    ) -> Option<(String, Session)> {
        let id = cookie(headers)?;
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.get(&id)?;
        (now_ms - s.created_ms < SESSION_TTL_MS && ct_eq(s.csrf.as_bytes(), csrf.as_bytes()))
            .then(|| (id, s.clone()))
    }

    pub fn update(&self, id: &str, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            f(s);
        }
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}
