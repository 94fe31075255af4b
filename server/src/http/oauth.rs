//! The JSON endpoints: metadata (RFC 8414), device authorization (RFC 8628 §3.1), token
//! (§3.4, RFC 6749 §6), revocation (RFC 7009).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};

use super::reply::{json, Reply};
use super::{now_ms, AppState, SharedEngine};
use crate::engine::{ClientRequest, CommitTicket, Params, Response};
use crate::OsRandom;

pub async fn metadata(State(app): State<AppState>) -> Reply {
    json(200, &app.engine.metadata())
}

/// Parses the form and headers into a [`ClientRequest`], answers with `handle` on the
/// blocking pool (the store may block), and adds `Retry-After` when the engine asks for it.
async fn answer(
    app: &AppState,
    endpoint: &'static str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    handle: fn(&SharedEngine, &ClientRequest, i64) -> (Response, Option<CommitTicket>),
) -> Reply {
    let params = match Params::parse(body) {
        Ok(p) => p,
        Err(e) => {
            app.metrics.oauth(endpoint, e.code);
            return json(e.status, &e.body());
        }
    };
    let req = ClientRequest {
        params,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        source: app.source(peer, headers),
    };
    let (r, ticket) = app
        .blocking(move |engine| handle(engine, &req, now_ms()))
        .await;
    let r = match ticket {
        Some(ticket) => committed(app, r, ticket).await,
        None => r,
    };
    let outcome = match (r.status, r.body.get("error").and_then(|e| e.as_str())) {
        (200..=299, _) => "ok",
        (_, Some(code)) => code,
        (429, None) => "rate_limited",
        _ => "error",
    };
    app.metrics.oauth(endpoint, outcome);
    let mut reply = json(r.status, &r.body);
    if let Some(secs) = r.retry_after_s {
        reply
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    reply
}

/// `response` once the store's group commit of `ticket` is done (a server error if it failed).
/// First every request that is ready now gets to run (each adds its insert to the open group:
/// `yield_now` lets the runtime poll the sockets before this task goes on), then one commit
/// covers them all and later tickets of the group find it done. Only a local store gives tickets
/// (SQLite: the commit is a function call). If the request is dropped while waiting, the group
/// is committed anyway.
async fn committed(app: &AppState, response: Response, ticket: CommitTicket) -> Response {
    struct CommitOnDrop<'a>(&'a SharedEngine, Option<CommitTicket>);
    impl Drop for CommitOnDrop<'_> {
        fn drop(&mut self) {
            if let Some(t) = self.1.take() {
                let _ = self.0.store.commit_through(t);
            }
        }
    }
    let mut wait = CommitOnDrop(&app.engine, Some(ticket));
    tokio::task::yield_now().await;
    app.engine.finish_grouped(response, wait.1.take())
}

pub async fn device_authorization(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    answer(
        &app,
        "device_authorization",
        peer,
        &headers,
        &body,
        |e, req, now| e.handle_device_authorization_grouped(req, now, &mut OsRandom),
    )
    .await
}

pub async fn token(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    answer(&app, "token", peer, &headers, &body, |e, req, now| {
        (e.handle_token(req, now, &mut OsRandom), None)
    })
    .await
}

pub async fn revoke(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    answer(&app, "revoke", peer, &headers, &body, |e, req, now| {
        (e.handle_revocation(req, now), None)
    })
    .await
}

/// `POST /introspect` (RFC 7662), for resource servers (confidential clients marked
/// `introspection`).
pub async fn introspect(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    answer(&app, "introspect", peer, &headers, &body, |e, req, now| {
        (e.handle_introspection(req, now), None)
    })
    .await
}

/// `GET /jwks`: the public keys of JWT access tokens (RFC 7517 JWK Set).
pub async fn jwks(State(app): State<AppState>) -> Reply {
    let r = app
        .blocking(move |engine| engine.handle_jwks(now_ms()))
        .await;
    json(r.status, &r.body)
}

/// `GET /userinfo` (Bearer token; RFC 6750 `WWW-Authenticate` on failure).
pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Reply {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let r = app
        .blocking(move |engine| engine.handle_userinfo(auth.as_deref(), now_ms()))
        .await;
    let mut reply = json(r.status, &r.body);
    if r.status == 401 {
        reply.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    reply
}
