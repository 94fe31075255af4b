//! The verification pages (RFC 8628 §3.3): `GET /device` (code entry, prefilled from
//! `?user_code=`), `POST /device` (code → confirmation), `POST /device/confirm` (approve/deny).
//!
//! Every page first asks the sign-in ([`super::signin`]) who the user is, and shows a code entry
//! only to a signed-in user (the dev sign-in asks for a name on the same form). Links, form
//! actions, redirects and the cookie path carry the mount prefix (`base`: the issuer's path).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

use super::html::{confirm_page, done_page, entry_page, forbidden_page, message_page, Visitor};
use super::reply::{html, see_other, Reply};
use super::session::{Session, SessionUser, SESSION_TTL_MS};
use super::signin::{User, Who};
use super::{now_ms, AppState};
use crate::engine::{Entrant, EntryError, Params};
use crate::OsRandom;

/// `GET /device[?user_code=…]`. A code in the URL is moved into the session and the browser is
/// sent to the bare URL (303), so the code doesn't stay in history or Referer (RFC 9700 §4.3);
/// then a browser nobody is signed in on is sent to sign in, and comes back to the form.
pub async fn entry(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
) -> Reply {
    let now = now_ms();
    let base = app.base();
    let (mut session, new) = app
        .sessions
        .current_or_new(&parts.headers, now, &mut OsRandom);
    let from_url = parts
        .uri
        .query()
        .and_then(|q| Params::parse(q.as_bytes()).ok())
        .and_then(|p| {
            p.get("user_code")
                .map(|c| c.chars().take(32).collect::<String>())
        });
    if let Some(code) = from_url {
        session.prefill = Some(code);
        return app.with_session(see_other(&format!("{base}/device")), &session, now);
    }
    let prefill = session.prefill.clone().unwrap_or_default();
    let csrf = &session.csrf;
    let reply = match app.who(&parts, peer, &session, now).await {
        Who::User(user) => {
            let visitor = Visitor::SignedIn {
                name: &user.display_name,
            };
            html(
                StatusCode::OK,
                entry_page(base, csrf, &prefill, visitor, None),
            )
        }
        Who::AskName => {
            let visitor = Visitor::AskName { username: "" };
            html(
                StatusCode::OK,
                entry_page(base, csrf, &prefill, visitor, None),
            )
        }
        Who::Redirect(to) => see_other(&to),
        Who::Refused(reason) => refused(&reason),
    };
    if new {
        app.with_session(reply, &session, now)
    } else {
        reply
    }
}

/// `POST /device`: a code from a signed-in user (with the dev sign-in, a name and a code).
/// Right code → confirmation; otherwise the form again with one generic message (or "too many
/// attempts" for this user only).
pub async fn submit(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
    body: Bytes,
) -> Reply {
    let now = now_ms();
    let base = app.base();
    let form = Params::parse(&body).unwrap_or_default();
    let Some(mut session) = app.verified_form(&parts.headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page(base));
    };
    let code = form.get("user_code").unwrap_or("").to_owned();
    let user = match app.who(&parts, peer, &session, now).await {
        Who::User(user) => user,
        Who::AskName => match dev_sign_in(&mut session, form.get("username").unwrap_or("")) {
            Some(user) => user,
            None => {
                let visitor = Visitor::AskName {
                    username: form.get("username").unwrap_or(""),
                };
                let msg = "Enter your name (up to 64 characters).";
                let page = entry_page(base, &session.csrf, &code, visitor, Some(msg));
                return html(StatusCode::BAD_REQUEST, page);
            }
        },
        Who::Redirect(to) => return sign_in_again(&to),
        Who::Refused(reason) => return refused(&reason),
    };
    let key = app.signer.limit_key(&user, &session);
    let source = app.source(peer, &parts.headers);
    let entrant = Entrant::new(&key, &source);
    let mut result = app.enter_code(&code, entrant).await;
    if let Err(EntryError::Pace { delay_ms }) = result {
        // Slowed down, never refused: wait for this source's turn, then check.
        app.metrics.entry("paced");
        let _turn = app
            .lanes
            .wait(&source, Duration::from_millis(delay_ms))
            .await;
        result = app.enter_code(&code, entrant.paced()).await;
    }
    app.metrics.entry(match &result {
        Ok(_) => "ok",
        Err(EntryError::Invalid) => "invalid",
        Err(EntryError::TooManyAttempts) => "too_many_attempts",
        Err(EntryError::Pace { .. }) => "paced",
        Err(EntryError::Store(_)) => "store_error",
    });
    let again = |status, msg: &str| {
        let visitor = Visitor::SignedIn {
            name: &user.display_name,
        };
        html(
            status,
            entry_page(base, &session.csrf, &code, visitor, Some(msg)),
        )
    };
    let reply = match result {
        Ok(pending) => {
            session.prefill = None;
            session.confirming = Some((pending.device_id.clone(), user.id.clone()));
            let page = confirm_page(
                base,
                &session.csrf,
                &pending,
                &user.display_name,
                &source,
                now_ms(),
            );
            html(StatusCode::OK, page)
        }
        Err(EntryError::TooManyAttempts) if app.signer.is_dev() => again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes from this browser; try again in 15 minutes.",
        ),
        Err(EntryError::TooManyAttempts) => again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes from your account; try again in 15 minutes.",
        ),
        Err(e @ EntryError::Invalid) => again(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(EntryError::Pace { .. } | EntryError::Store(_)) => {
            again(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    };
    app.with_session(reply, &session, now)
}

/// The dev sign-in: a name as typed (1 to 64 characters, no control characters), kept in the
/// session for its lifetime.
fn dev_sign_in(session: &mut Session, typed: &str) -> Option<User> {
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return None;
    }
    session.user = Some(SessionUser {
        id: name.to_owned(),
        name: name.to_owned(),
        until_ms: session.created_ms + SESSION_TTL_MS,
    });
    Some(User::new(name))
}

/// `POST /device/confirm`: the decision, for the request the session's confirmation page
/// showed, by the user it was shown to. The first decision wins (compare-and-set in the
/// store), so an old cookie replayed cannot decide twice.
pub async fn confirm(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
    body: Bytes,
) -> Reply {
    let now = now_ms();
    let base = app.base();
    let source = app.source(peer, &parts.headers);
    let form = Params::parse(&body).unwrap_or_default();
    let Some(mut session) = app.verified_form(&parts.headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page(base));
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return html(StatusCode::BAD_REQUEST, forbidden_page(base)),
    };
    let user = match app.who(&parts, peer, &session, now).await {
        Who::User(user) => user,
        Who::AskName => return html(StatusCode::FORBIDDEN, forbidden_page(base)),
        Who::Redirect(to) => return sign_in_again(&to),
        Who::Refused(reason) => return refused(&reason),
    };
    let Some((device_id, shown_to)) = session.confirming.take() else {
        return html(StatusCode::FORBIDDEN, forbidden_page(base));
    };
    if shown_to != user.id {
        let page = message_page(
            "Signed in as someone else",
            "forbidden",
            "This request was shown to another user. Enter the code again.",
            true,
            Some((&format!("{base}/device"), "Start again")),
        );
        return app.with_session(html(StatusCode::FORBIDDEN, page), &session, now);
    }
    let subject = user.id.clone();
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
                engine.handle_decision(&device_id, &subject, &source, approve, now),
                client_name,
            )
        })
        .await;
    let reply = match decided {
        (Ok(_), client_name) => html(StatusCode::OK, done_page(approve, &client_name)),
        (Err(e), _) => {
            let visitor = Visitor::SignedIn {
                name: &user.display_name,
            };
            html(
                StatusCode::BAD_REQUEST,
                entry_page(base, &session.csrf, "", visitor, Some(&e.to_string())),
            )
        }
    };
    app.with_session(reply, &session, now)
}

/// The sign-in refused this request (an untrusted peer with the header sign-in, a host's
/// refusal): 403 with the reason.
pub(crate) fn refused(reason: &str) -> Reply {
    let page = message_page("You cannot use this page", "refused", reason, true, None);
    html(StatusCode::FORBIDDEN, page)
}

/// A form posted by nobody signed in (the sign-in expired): a link to sign in, not a redirect,
/// since the form's CSP (`form-action 'self'`) would stop a redirect to another origin.
fn sign_in_again(to: &str) -> Reply {
    let page = message_page(
        "Sign in first",
        "sign-in",
        "Your sign-in has expired. Sign in again, then enter the code.",
        false,
        Some((to, "Sign in")),
    );
    html(StatusCode::FORBIDDEN, page)
}

impl AppState {
    /// The pages' path prefix: the issuer's path (`""` at the root, `/login/device` nested).
    pub(crate) fn base(&self) -> &str {
        super::issuer_path(&self.engine.config.issuer).trim_end_matches('/')
    }

    /// `scheme://host[:port]` of the issuer: what a same-origin form's `Origin` says.
    fn origin(&self) -> &str {
        let issuer = self.engine.config.issuer.as_str();
        &issuer[..issuer.len() - self.base().len()]
    }

    pub(crate) async fn who(
        &self,
        parts: &Parts,
        peer: SocketAddr,
        session: &Session,
        now: i64,
    ) -> Who {
        self.signer
            .who(parts, peer, session, &self.trusted, self.base(), now)
            .await
    }

    /// The session for a form POST if its CSRF token matches and the Origin, when the browser
    /// names one, is ours. (`Referrer-Policy: no-referrer` makes browsers send `Origin: null`.)
    pub(crate) fn verified_form(
        &self,
        headers: &HeaderMap,
        form: &Params,
        now: i64,
    ) -> Option<Session> {
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let same = origin == "null"
                || origin == self.origin()
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

    pub(crate) fn with_session(&self, mut reply: Reply, session: &Session, now: i64) -> Reply {
        if let Some(cookie) = self.sessions.set(session, now) {
            reply.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        reply
    }
}
