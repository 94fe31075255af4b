//! The sign-in's own routes, next to the pages:
//!
//! * `GET /device/signin`: starts an upstream sign-in (new `state`, `nonce` and PKCE verifier
//!   in the signed session cookie) and sends the browser to the provider;
//! * `GET /device/callback`: the provider's redirect back: `state` checked against the
//!   cookie, the code exchanged, the ID token validated; the user is kept in a new session;
//! * `POST /device/signout`: "Not you?": the page forgets the user.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;

use super::upstream::{Upstream, UpstreamError};
use super::User;
use crate::engine::codes::ct_eq;
use crate::engine::{random, Params};
use crate::http::html::{forbidden_page, message_page};
use crate::http::reply::{html, see_other, Reply};
use crate::http::session::{PendingLogin, Session, SessionUser, SESSION_TTL_MS};
use crate::http::{now_ms, AppState};
use crate::OsRandom;

/// How long the provider has to send the browser back.
const LOGIN_TTL_MS: i64 = 10 * 60_000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/device/signin", get(start))
        .route("/device/callback", get(callback))
        .route("/device/signout", post(sign_out))
}

/// Runs a blocking upstream call (HTTP with ureq) on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    up: &Arc<Upstream>,
    f: impl FnOnce(&Upstream) -> T + Send + 'static,
) -> T {
    let up = up.clone();
    match tokio::task::spawn_blocking(move || f(&up)).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// `GET /device/signin`.
async fn start(State(app): State<AppState>, headers: HeaderMap) -> Reply {
    let now = now_ms();
    let page = format!("{}/device", app.base());
    let Some(up) = app.signer.upstream().cloned() else {
        return see_other(&page);
    };
    let (mut session, _) = app.sessions.current_or_new(&headers, now, &mut OsRandom);
    if session.user.as_ref().is_some_and(|u| now < u.until_ms) {
        return see_other(&page);
    }
    let login = PendingLogin {
        state: random::token(&mut OsRandom, 16),
        nonce: random::token(&mut OsRandom, 16),
        verifier: random::token(&mut OsRandom, 32),
        started_ms: now,
    };
    let reauth = session.reauth;
    let pending = login.clone();
    match blocking(&up, move |up| up.authorization_url(&pending, reauth)).await {
        Ok(url) => {
            session.login = Some(login);
            session.reauth = false;
            app.with_session(see_other(&url), &session, now)
        }
        Err(e) => failed(&page, &e),
    }
}

/// `GET /device/callback?code=…&state=…` (or `?error=…&state=…`).
async fn callback(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Reply {
    let now = now_ms();
    let page = format!("{}/device", app.base());
    let Some(up) = app.signer.upstream().cloned() else {
        return see_other(&page);
    };
    let params = uri
        .query()
        .and_then(|q| Params::parse(q.as_bytes()).ok())
        .unwrap_or_default();
    let session = app.sessions.current(&headers, now);
    let Some((mut session, login)) = session.and_then(|s| Some((s.clone(), s.login?))) else {
        return stopped(
            &page,
            "This sign-in was not started here, or its page has expired.",
        );
    };
    let state = params.get("state").unwrap_or("");
    if !ct_eq(state.as_bytes(), login.state.as_bytes()) {
        // Not this browser's sign-in (forged, replayed or tampered): refused, session untouched.
        return stopped(&page, "This sign-in could not be verified.");
    }
    session.login = None;
    let forget = |reply: Reply, session: &Session| app.with_session(reply, session, now);
    if now - login.started_ms > LOGIN_TTL_MS {
        return forget(stopped(&page, "This sign-in took too long."), &session);
    }
    // RFC 9207: a provider that names itself must be ours (mix-up defence).
    let ours = up.issuer().trim_end_matches('/');
    if params
        .get("iss")
        .is_some_and(|iss| iss.trim_end_matches('/') != ours)
    {
        return forget(
            stopped(&page, "The answer came from another provider."),
            &session,
        );
    }
    if let Some(error) = params.get("error") {
        let error: String = error
            .chars()
            .filter(char::is_ascii_graphic)
            .take(64)
            .collect();
        let text = format!("The sign-in did not complete ({error}).");
        return forget(stopped(&page, &text), &session);
    }
    let Some(code) = params.get("code").map(str::to_owned) else {
        return forget(stopped(&page, "The provider sent no code."), &session);
    };
    let pending = login.clone();
    match blocking(&up, move |up| up.finish(&code, &pending)).await {
        Ok(user) => signed_in(&app, &session, user, &page, now),
        Err(e) => forget(failed(&page, &e), &session),
    }
}

/// The user is known: a new session (new id and CSRF token) that holds them.
fn signed_in(app: &AppState, old: &Session, user: User, page: &str, now: i64) -> Reply {
    let Some(user) = super::clean_user(user) else {
        return stopped(page, "The provider named no usable user.");
    };
    let mut session = app.sessions.renewed(old, now, &mut OsRandom);
    session.user = Some(SessionUser {
        id: user.id,
        name: user.display_name,
        until_ms: now + SESSION_TTL_MS,
    });
    app.with_session(see_other(page), &session, now)
}

/// `POST /device/signout` ("Not you?"): the page forgets who is signed in (and any request on
/// the confirmation page). With the dev sign-in, back to the name box; otherwise a page with a
/// link: to the proxy's or host's sign-out when there is one, else back to the page, where the
/// upstream provider is asked to authenticate again.
async fn sign_out(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let now = now_ms();
    let base = app.base();
    let page = format!("{base}/device");
    let form = Params::parse(&body).unwrap_or_default();
    let Some(mut session) = app.verified_form(&headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page(base));
    };
    session.user = None;
    session.confirming = None;
    session.login = None;
    if app.signer.is_dev() {
        return app.with_session(see_other(&page), &session, now);
    }
    session.reauth = app.signer.upstream().is_some();
    let (text, link, label) = match (app.signer.upstream(), app.signer.sign_out_url(base)) {
        (Some(_), _) => (
            "This page has forgotten who you are: the provider will ask again.",
            page,
            "Sign in as someone else",
        ),
        (None, Some(url)) => (
            "To continue as someone else, sign out where you signed in.",
            url,
            "Sign out",
        ),
        (None, None) => (
            "You are signed in by your sign-in service: to continue as someone else, \
             sign out there.",
            page,
            "Back",
        ),
    };
    let reply = html(
        StatusCode::OK,
        message_page(
            "Signed out of this page",
            "signed-out",
            text,
            false,
            Some((&link, label)),
        ),
    );
    app.with_session(reply, &session, now)
}

/// A sign-in that stopped on our side: 400 with a link to start again.
fn stopped(page: &str, text: &str) -> Reply {
    let body = message_page(
        "Sign-in stopped",
        "sign-in-failed",
        text,
        true,
        Some((page, "Start again")),
    );
    html(StatusCode::BAD_REQUEST, body)
}

/// The provider failed us (unreachable, refused the code, a bad ID token): 502, logged.
fn failed(page: &str, e: &UpstreamError) -> Reply {
    tracing::warn!(target: "deviceflow::signin", error = %e, "upstream sign-in failed");
    let body = message_page(
        "Sign-in failed",
        "sign-in-failed",
        &format!("Signing in with the provider failed: {e}."),
        true,
        Some((page, "Start again")),
    );
    html(StatusCode::BAD_GATEWAY, body)
}
