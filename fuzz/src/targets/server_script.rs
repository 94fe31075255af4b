//! (e) A whole random server: a structure-aware script of replies, transport
//! errors, sleeps and cancels played against one `DeviceFlow`. Invariants:
//! no panic; no request at or after the device code deadline; polls spaced by
//! at least the interval in force (which never shrinks); `Send` never repeats;
//! `Display` at most once and before any poll; secrets never in `Debug`; the flow
//! always finishes.

use arbitrary::Arbitrary;
use deviceflow::{
    Action, ClientAuth, Config, DeviceFlow, ErrorCode, Header, HttpResponse, Secret, Timestamp,
    TransportError,
};
use crate::*;
use serde_json::{json, Value};
use std::collections::HashSet;

const ISSUER: &str = "https://as.example.com";
const CLIENT_SECRET: &str = "s3cr3t-client-secret-x9";

#[derive(Arbitrary, Debug)]
pub struct Script {
    auth: Auth,
    from_issuer: bool,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Auth {
    None,
    Basic,
    Post,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Answer the request in flight after `latency_ms`.
    Reply {
        latency_ms: u16,
        reply: Reply,
    },
    Transport {
        latency_ms: u16,
        kind: Kind,
    },
    /// Consumed while waiting: sleep this long instead of until the wait ends
    /// (shorter = an early wake-up, longer = an oversleep).
    Sleep {
        ms: u32,
    },
    /// Cancel while a request is in flight; its late answer must be refused.
    Cancel,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Timeout,
    Connect,
    Tls,
    Io,
    Other,
}

#[derive(Arbitrary, Debug)]
enum Reply {
    Discovery {
        with_device: bool,
        with_token: bool,
        wrong_issuer: bool,
    },
    Device {
        expires_in: Num,
        interval: Option<Num>,
        user_code: UserCode,
        complete: bool,
        message: Option<String>,
        google: bool,
    },
    Pending {
        status: Status,
    },
    SlowDown {
        status: Status,
        interval: Option<Num>,
    },
    Error {
        status: Status,
        code: OAuthCode,
        description: Option<String>,
    },
    Token {
        status: Status,
        expires_in: Option<Num>,
        refresh: bool,
        token_type: TokenType,
    },
    Transient {
        status: TransientStatus,
        retry_after: Option<u16>,
        oauth: bool,
    },
    Raw {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
enum Num {
    Int(u32),
    Text(u32),
    Float(f64),
    Negative(i32),
    Null,
}

#[derive(Arbitrary, Debug)]
enum UserCode {
    Good,
    Hostile,
    Arbitrary(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Status {
    Ok,
    BadRequest,
    Unauthorized,
    Forbidden,
    Other(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum TransientStatus {
    TooMany,
    Internal,
    BadGateway,
    Unavailable,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum OAuthCode {
    AccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidClient,
    TemporarilyUnavailable,
    ServerError,
    Unknown,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum TokenType {
    Bearer,
    Lower,
    Missing,
}

impl Num {
    fn json(&self) -> Value {
        match self {
            Num::Int(n) => json!(n),
            Num::Text(n) => json!(n.to_string()),
            Num::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Num::Negative(n) => json!(-(*n as i64).abs() - 1),
            Num::Null => Value::Null,
        }
    }
}

impl Status {
    fn code(self, ok: u16) -> u16 {
        match self {
            Status::Ok => ok,
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::Other(s) => s,
        }
    }
}

impl Reply {
    fn response(&self) -> HttpResponse {
        let (status, body) = match self {
            Reply::Discovery {
                with_device,
                with_token,
                wrong_issuer,
            } => {
                let mut doc = json!({
                    "issuer": if *wrong_issuer { "https://evil.example" } else { ISSUER },
                    "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code"],
                });
                if *with_token {
                    doc["token_endpoint"] = json!(TOKEN_URL);
                }
                if *with_device {
                    doc["device_authorization_endpoint"] = json!(DEVICE_URL);
                }
                (200, doc)
            }
            Reply::Device {
                expires_in,
                interval,
                user_code,
                complete,
                message,
                google,
            } => {
                let code = match user_code {
                    UserCode::Good => "WDJB-MJHT".to_owned(),
                    UserCode::Hostile => "\u{1b}]8;;https://evil\u{7}X".to_owned(),
                    UserCode::Arbitrary(s) => s.clone(),
                };
                let uri_key = if *google {
                    "verification_url"
                } else {
                    "verification_uri"
                };
                let mut doc = json!({
                    "device_code": DEVICE_CODE,
                    "user_code": code,
                    uri_key: "https://example.com/device",
                    "expires_in": expires_in.json(),
                });
                if let Some(i) = interval {
                    doc["interval"] = i.json();
                }
                if *complete {
                    doc["verification_uri_complete"] =
                        json!("https://example.com/device?code=WDJB-MJHT");
                }
                if let Some(m) = message {
                    doc["message"] = json!(m);
                }
                (200, doc)
            }
            Reply::Pending { status } => {
                (status.code(400), json!({"error": "authorization_pending"}))
            }
            Reply::SlowDown { status, interval } => {
                let mut doc = json!({"error": "slow_down"});
                if let Some(i) = interval {
                    doc["interval"] = i.json();
                }
                (status.code(400), doc)
            }
            Reply::Error {
                status,
                code,
                description,
            } => {
                let error = match code {
                    OAuthCode::AccessDenied => "access_denied",
                    OAuthCode::ExpiredToken => "expired_token",
                    OAuthCode::InvalidGrant => "invalid_grant",
                    OAuthCode::InvalidClient => "invalid_client",
                    OAuthCode::TemporarilyUnavailable => "temporarily_unavailable",
                    OAuthCode::ServerError => "server_error",
                    OAuthCode::Unknown => "x_custom_error",
                };
                (
                    status.code(400),
                    json!({"error": error, "error_description": description}),
                )
            }
            Reply::Token {
                status,
                expires_in,
                refresh,
                token_type,
            } => {
                let mut doc = json!({"access_token": "2YotnFZFEjr1zCsicMWpAA"});
                match token_type {
                    TokenType::Bearer => doc["token_type"] = json!("Bearer"),
                    TokenType::Lower => doc["token_type"] = json!("bearer"),
                    TokenType::Missing => {}
                }
                if let Some(e) = expires_in {
                    doc["expires_in"] = e.json();
                }
                if *refresh {
                    doc["refresh_token"] = json!("tGzv3JOkF0XG5Qx2TlKWIA");
                }
                (status.code(200), doc)
            }
            Reply::Transient {
                status,
                retry_after,
                oauth,
            } => {
                let code = match status {
                    TransientStatus::TooMany => 429,
                    TransientStatus::Internal => 500,
                    TransientStatus::BadGateway => 502,
                    TransientStatus::Unavailable => 503,
                };
                let mut headers = vec![];
                if let Some(r) = retry_after {
                    headers.push(Header::new("Retry-After", r.to_string()));
                }
                let body = if *oauth {
                    r#"{"error":"server_error"}"#
                } else {
                    "<html>busy</html>"
                };
                return HttpResponse::new(code, headers, body);
            }
            Reply::Raw {
                status,
                content_type,
                body,
            } => {
                let headers = content_type
                    .iter()
                    .map(|c| Header::new("content-type", c.clone()))
                    .collect();
                return HttpResponse::new(*status, headers, body.clone());
            }
        };
        HttpResponse::json(status, &body)
    }
}

fn config(auth: Auth, from_issuer: bool) -> Config {
    let mut c = if from_issuer {
        Config::from_issuer("fuzz-client", ISSUER)
    } else {
        crate::config()
    };
    match auth {
        Auth::None => {}
        Auth::Basic | Auth::Post => {
            c.client.client_secret = Some(Secret::new(CLIENT_SECRET));
            c.client.client_auth = Some(if matches!(auth, Auth::Basic) {
                ClientAuth::ClientSecretBasic
            } else {
                ClientAuth::ClientSecretPost
            });
        }
    }
    c
}

fn transport(kind: Kind) -> TransportError {
    match kind {
        Kind::Timeout => TransportError::Timeout,
        Kind::Connect => TransportError::Connect,
        Kind::Tls => TransportError::Tls,
        Kind::Io => TransportError::Io,
        Kind::Other => TransportError::Other,
    }
}

/// The target's body: one script played.
pub fn run(script: Script) {
    let mut flow = DeviceFlow::new(config(script.auth, script.from_issuer), START).unwrap();
    let mut steps = script.steps.iter();
    let mut now = START;
    let mut ids = HashSet::new();
    let mut displays = 0;
    let mut polls = 0;
    // When the answer to the device request or the previous poll arrived.
    let mut last_answer: Option<Timestamp> = None;
    let mut last_device_send = START;
    let mut interval = 0;
    let budget = 4 * script.steps.len() + 100;

    for _ in 0..budget {
        let action = flow.poll_action(now);
        check_action(&action);
        if let Some(i) = flow.interval_ms() {
            assert!(i >= interval, "interval shrank from {interval} to {i}");
            interval = i;
        }
        let req = match action {
            Action::Send(req) => req,
            Action::Display(p) => {
                displays += 1;
                assert_eq!(displays, 1, "Display repeated");
                assert_eq!(polls, 0);
                assert!(p.expires_at >= last_device_send);
                assert!(p.expires_at < last_device_send.plus(p.expires_in * 1000 + 1000));
                continue;
            }
            Action::Wait {
                until, delay_ms, ..
            } => {
                assert_eq!(until, now.plus(delay_ms));
                if let Some(p) = flow.prompt() {
                    assert!(until <= p.expires_at, "a wait runs past the deadline");
                }
                let slept = match steps.as_slice().first() {
                    Some(Step::Sleep { ms }) => {
                        steps.next();
                        now.plus(*ms as u64)
                    }
                    _ => until,
                };
                now = slept.max(now.plus(1));
                continue;
            }
            Action::AwaitingResponse { .. } | Action::Sign { .. } => panic!("every Send is answered at once"),
            done @ (Action::Done(_) | Action::Failed(_)) => {
                if let Action::Failed(e) = &done {
                    if e.code == ErrorCode::ExpiredToken && e.status.is_none() {
                        assert!(now >= flow.prompt().unwrap().expires_at, "expired early");
                    }
                }
                check_finished(&mut flow, &done, now);
                return;
            }
        };

        assert!(ids.insert(req.id), "Send repeated id {:?}", req.id);
        check_redacted(&req, DEVICE_CODE);
        check_redacted(&req, CLIENT_SECRET);
        if req.url == TOKEN_URL {
            polls += 1;
            let p = flow.prompt().expect("a poll before any prompt");
            assert_eq!(displays, 1, "polling before Display");
            assert!(
                now < p.expires_at,
                "poll at {now:?}, deadline {:?}",
                p.expires_at
            );
            let since = now.since(last_answer.expect("a poll follows an answer"));
            assert!(
                since >= interval,
                "poll {since} ms after the last answer, interval {interval}"
            );
        } else if req.url == DEVICE_URL {
            assert_eq!(displays, 0);
            last_device_send = now;
        } else {
            assert!(req.url.starts_with(ISSUER) && req.url.contains("/.well-known/"));
        }

        // Sleeps between a Send and its answer are latency.
        let mut latency = 0u64;
        loop {
            match steps.next() {
                Some(Step::Sleep { ms }) => latency += *ms as u64,
                Some(Step::Reply { latency_ms, reply }) => {
                    now = now.plus(latency + *latency_ms as u64);
                    flow.handle_response(req.id, reply.response(), now).unwrap();
                    break;
                }
                Some(Step::Transport { latency_ms, kind }) => {
                    now = now.plus(latency + *latency_ms as u64);
                    flow.handle_transport_error(req.id, transport(*kind), now)
                        .unwrap();
                    break;
                }
                Some(Step::Cancel) => {
                    flow.cancel(now).unwrap();
                    let late =
                        flow.handle_response(req.id, HttpResponse::json(200, &json!({})), now);
                    assert!(late.is_err(), "an answer after cancel was accepted");
                    let Action::Failed(e) = flow.poll_action(now) else {
                        panic!("cancel ignored")
                    };
                    assert_eq!(e.code(), "cancelled");
                    return;
                }
                None => {
                    now = now.plus(latency + 1);
                    flow.handle_transport_error(req.id, TransportError::Timeout, now)
                        .unwrap();
                    break;
                }
            }
        }
        last_answer = Some(now);
    }
    panic!("the flow did not finish within {budget} actions");
}

/// Raw bytes as libFuzzer hands them to the target: decoded the way `fuzz_target!` decodes a
/// typed input (`arbitrary_take_rest`), skipped when they do not decode.
pub fn run_bytes(data: &[u8]) {
    if let Ok(script) = Script::arbitrary_take_rest(arbitrary::Unstructured::new(data)) {
        run(script);
    }
}
