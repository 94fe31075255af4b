//! The verification pages (RFC 8628 §3.3): `GET /device` (code entry, prefilled from
//! `?user_code=`), `POST /device` (code → confirmation), `POST /device/confirm` (approve/deny).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};

use super::html::{confirm_page, done_page, entry_page, forbidden_page};
use super::reply::{html, see_other, Reply};
use super::session::Session;
use super::{now_ms, AppState};
use crate::engine::{Entrant, EntryError, Params};
use crate::OsRandom;

/// `GET /device[?user_code=…]`. A code in the URL is moved into the session and the browser is
/// sent to the bare URL (303), so the code doesn't stay in history or Referer (RFC 9700 §4.3).
pub async fn entry(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Reply {
    let now = now_ms();
    let (mut session, new) = app.sessions.current_or_new(&headers, now, &mut OsRandom);
    let from_url = uri
        .query()
        .and_then(|q| Params::parse(q.as_bytes()).ok())
        .and_then(|p| {
            p.get("user_code")
                .map(|c| c.chars().take(32).collect::<String>())
        });
    match from_url {
        Some(code) => {
            session.prefill = Some(code);
            app.with_session(see_other("/device"), &session, now)
        }
        None => {
            let prefill = session.prefill.clone().unwrap_or_default();
            let page = html(
                StatusCode::OK,
                entry_page(&session.csrf, &prefill, "", None),
            );
            if new {
                app.with_session(page, &session, now)
            } else {
                page
            }
        }
    }
}

/// `POST /device`: a signed-in name and a code. Right code → confirmation; otherwise the form
/// again with one generic message (or "too many attempts" for this browser only).
pub async fn submit(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let now = now_ms();
    let form = Params::parse(&body).unwrap_or_default();
    let Some(mut session) = app.verified_form(&headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let code = form.get("user_code").unwrap_or("").to_owned();
    let again = |status, msg: &str| {
        html(
            status,
            entry_page(&session.csrf, &code, &username, Some(msg)),
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
    let source = app.source(peer, &headers);
    let entrant = Entrant::new(&session.id, &source);
    let mut result = app.enter_code(&code, entrant).await;
    if let Err(EntryError::Pace { delay_ms }) = result {
        // Slowed down, never refused: wait for this source's turn, then check.
        let _turn = app
            .lanes
            .wait(&source, Duration::from_millis(delay_ms))
            .await;
        result = app.enter_code(&code, entrant.paced()).await;
    }
    match result {
        Ok(pending) => {
            session.prefill = None;
            session.confirming = Some((pending.device_id.clone(), username.clone()));
            let page = html(
                StatusCode::OK,
                confirm_page(&session.csrf, &pending, &username, &source, now_ms()),
            );
            app.with_session(page, &session, now)
        }
        Err(EntryError::TooManyAttempts) => again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes from this browser; try again in 15 minutes.",
        ),
        Err(e @ EntryError::Invalid) => again(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(EntryError::Pace { .. } | EntryError::Store(_)) => {
            again(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    }
}

/// `POST /device/confirm`: the decision, for the request the session's confirmation page
/// showed. The first decision wins (compare-and-set in the store), so an old cookie replayed
/// cannot decide twice.
pub async fn confirm(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let now = now_ms();
    let form = Params::parse(&body).unwrap_or_default();
    let Some(mut session) = app.verified_form(&headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return html(StatusCode::BAD_REQUEST, forbidden_page()),
    };
    let Some((device_id, username)) = session.confirming.take() else {
        return html(StatusCode::FORBIDDEN, forbidden_page());
    };
    let decided = app
        .blocking(move |engine| {
            let client_name = engine
                .store
                .device_by_id(&device_id)
                .ok()
                .flatten()
                .and_then(|d| engine.clients.get(&d.client_id).map(|c| c.name.clone()))
                .unwrap_or_default();
            (
                engine.handle_decision(&device_id, &username, approve, now),
                client_name,
                username,
            )
        })
        .await;
    let reply = match decided {
        (Ok(_), client_name, _) => html(StatusCode::OK, done_page(approve, &client_name)),
        (Err(e), _, username) => html(
            StatusCode::BAD_REQUEST,
            entry_page(&session.csrf, "", &username, Some(&e.to_string())),
        ),
    };
    app.with_session(reply, &session, now)
}

impl AppState {
    /// The session for a form POST if its CSRF token matches and the Origin, when the browser
    /// names one, is ours. (`Referrer-Policy: no-referrer` makes browsers send `Origin: null`.)
    fn verified_form(&self, headers: &HeaderMap, form: &Params, now: i64) -> Option<Session> {
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

    async fn enter_code(
        &self,
        code: &str,
        who: Entrant<'_>,
    ) -> Result<crate::engine::PendingDevice, EntryError> {
        let (code, session, source, paced) = (
            code.to_owned(),
            who.session.to_owned(),
            who.source.to_owned(),
            who.paced,
        );
        self.blocking(move |engine| {
            let mut who = Entrant::new(&session, &source);
            who.paced = paced;
            engine.handle_user_code(&code, &who, now_ms())
        })
        .await
    }

    fn with_session(&self, mut reply: Reply, session: &Session, now: i64) -> Reply {
        if let Some(cookie) = self.sessions.set(session, now) {
            reply.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        reply
    }
}
