//! The verification pages (RFC 8628 §3.3): `GET /device` (code entry, prefilled from
//! `?user_code=`), `POST /device` (code → confirmation), `POST /device/confirm` (approve/deny).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};

use super::html::{confirm_page, done_page, entry_page, forbidden_page};
use super::reply::{html, see_other, Reply};
use super::{now_ms, AppState};
use crate::engine::{EntryError, Params};
use crate::OsRandom;

/// `GET /device[?user_code=…]`. A code in the URL is moved into the session and the browser is
/// sent to the bare URL (303), so the code doesn't stay in history or Referer (RFC 9700 §4.3).
pub async fn entry(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Reply {
    let now = now_ms();
    let (id, session, set_cookie) = app.sessions.get_or_create(&headers, now, &mut OsRandom);
    let from_url = uri
        .query()
        .and_then(|q| Params::parse(q.as_bytes()).ok())
        .and_then(|p| {
            p.get("user_code")
                .map(|c| c.chars().take(32).collect::<String>())
        });
    let mut reply = match from_url {
        Some(code) => {
            app.sessions.update(&id, |s| s.prefill = Some(code));
            see_other("/device")
        }
        None => {
            let prefill = session.prefill.unwrap_or_default();
            html(
                StatusCode::OK,
                entry_page(&session.csrf, &prefill, "", None),
            )
        }
    };
    if let Some(cookie) = set_cookie {
        reply.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    reply
}

/// `POST /device`: a signed-in name and a code. Right code → confirmation; otherwise the form
/// again with one generic message (or "too many attempts").
pub async fn submit(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let now = now_ms();
    let form = Params::parse(&body).unwrap_or_default();
    let Some((id, session)) = app.verified_form(&headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let code = form.get("user_code").unwrap_or("");
    let again = |status, msg: &str| {
        html(
            status,
            entry_page(&session.csrf, code, &username, Some(msg)),
        )
    };
    if username.is_empty()
        || username.chars().count() > 64
        || username.chars().any(char::is_control)
    {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your name (up to 64 characters).",
        );
    }
    match app
        .engine
        .handle_user_code(code, &peer.ip().to_string(), now)
    {
        Ok(pending) => {
            app.sessions.update(&id, |s| {
                s.prefill = None;
                s.confirming = Some((pending.device_id.clone(), username.clone()));
            });
            html(
                StatusCode::OK,
                confirm_page(&session.csrf, &pending, &username, now),
            )
        }
        Err(EntryError::TooManyAttempts) => again(
            StatusCode::TOO_MANY_REQUESTS,
            &EntryError::TooManyAttempts.to_string(),
        ),
        Err(e @ EntryError::Invalid) => again(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(EntryError::Store(_)) => {
            again(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    }
}

/// `POST /device/confirm`: the decision. The device id never leaves the server: it comes from
/// the session the confirmation page was shown in, and is used once.
pub async fn confirm(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let now = now_ms();
    let form = Params::parse(&body).unwrap_or_default();
    let Some((id, session)) = app.verified_form(&headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return html(StatusCode::BAD_REQUEST, forbidden_page()),
    };
    let Some((device_id, username)) = session.confirming else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    app.sessions.update(&id, |s| s.confirming = None);
    let client_name = app
        .engine
        .store
        .device_by_id(&device_id)
        .ok()
        .flatten()
        .and_then(|d| app.engine.clients.get(&d.client_id).map(|c| c.name.clone()))
        .unwrap_or_default();
    match app
        .engine
        .handle_decision(&device_id, &username, approve, now)
    {
        Ok(_) => html(StatusCode::OK, done_page(approve, &client_name)),
        Err(e) => html(
            StatusCode::BAD_REQUEST,
            entry_page(&session.csrf, "", &username, Some(&e.to_string())),
        ),
    }
}

impl AppState {
    /// The session for a form POST if its CSRF token matches and the Origin, when the browser
    /// names one, is ours. (`Referrer-Policy: no-referrer` makes browsers send `Origin: null`.)
    fn verified_form(
        &self,
        headers: &HeaderMap,
        form: &Params,
        now: i64,
    ) -> Option<(String, super::session::Session)> {
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let same = origin == "null"
                || origin == self.engine.config.issuer
                || origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    == Some(host);
            if !same {
                return None;
            }
        }
        self.sessions.verified(headers, form.get("csrf")?, now)
    }
}
