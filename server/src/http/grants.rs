//! "Your devices" (`GET {base}/device/grants`): the signed-in user's grants that still hold live
//! tokens — client, scopes, when approved, the device's network, last used — each with a
//! Revoke button (`POST {base}/device/grants/revoke`) that ends its refresh and access tokens
//! at once (introspection and `/userinfo` answer so immediately).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::html::{forbidden_page, grants_page, message_page};
use super::pages::refused;
use super::reply::{html, see_other, Reply};
use super::signin::Who;
use super::{now_ms, AppState};
use crate::engine::Params;
use crate::OsRandom;

pub async fn list(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
) -> Reply {
    let now = now_ms();
    let base = app.base().to_owned();
    let (session, new) = app
        .sessions
        .current_or_new(&parts.headers, now, &mut OsRandom);
    let reply = match app.who(&parts, peer, &session, now).await {
        Who::User(user) => {
            let subject = user.id.clone();
            let grants = app
                .blocking(move |engine| engine.handle_grants(&subject, now))
                .await;
            match grants {
                Ok(rows) => html(
                    StatusCode::OK,
                    grants_page(&base, &session.csrf, &user.display_name, &rows),
                ),
                Err(_) => html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    message_page("Something went wrong", "error", "Try again.", true, None),
                ),
            }
        }
        Who::AskName => html(
            StatusCode::OK,
            message_page(
                "Your devices",
                "sign-in",
                "Sign in on the code entry page first.",
                false,
                Some((&format!("{base}/device"), "Go to the code entry page")),
            ),
        ),
        Who::Redirect(to) => see_other(&to),
        Who::Refused(reason) => refused(&reason),
    };
    if new {
        app.with_session(reply, &session, now)
    } else {
        reply
    }
}

pub async fn revoke(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: Parts,
    body: Bytes,
) -> Reply {
    let now = now_ms();
    let base = app.base().to_owned();
    let form = Params::parse(&body).unwrap_or_default();
    let Some(session) = app.verified_form(&parts.headers, &form, now) else {
        return html(StatusCode::FORBIDDEN, forbidden_page(&base));
    };
    let user = match app.who(&parts, peer, &session, now).await {
        Who::User(user) => user,
        Who::Redirect(to) => return see_other(&to),
        Who::Refused(reason) => return refused(&reason),
        Who::AskName => return html(StatusCode::FORBIDDEN, forbidden_page(&base)),
    };
    let Some(grant) = form.get("grant").map(str::to_owned) else {
        return html(StatusCode::BAD_REQUEST, forbidden_page(&base));
    };
    let source = app.source(peer, &parts.headers);
    let done = app
        .blocking(move |engine| engine.handle_grant_revocation(&grant, &user.id, &source, now))
        .await;
    match done {
        Ok(true) => see_other(&format!("{base}/device/grants")),
        // Not this user's grant (or gone): say nothing about whose it is.
        Ok(false) => html(
            StatusCode::NOT_FOUND,
            message_page(
                "Nothing to revoke",
                "not-found",
                "That device is not one of yours, or was already signed out.",
                true,
                Some((&format!("{base}/device/grants"), "Back to your devices")),
            ),
        ),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            message_page("Something went wrong", "error", "Try again.", true, None),
        ),
    }
}
