//! Shared pieces of the fuzz targets: turning fuzz bytes into responses, a
//! fixed client configuration, and the checks every target applies.

use deviceflow::display::{check_secure_url, check_user_code, is_unsafe_char};
use deviceflow::{
    Action, Config, DeviceFlow, FlowError, Header, HttpRequest, HttpResponse, Prompt, RequestId,
    Timestamp,
};
use serde::Serialize;

pub const DEVICE_URL: &str = "https://as.example.com/device";
pub const TOKEN_URL: &str = "https://as.example.com/token";
/// Unix-epoch-like start so expiries look real.
pub const START: Timestamp = Timestamp(1_700_000_000_000);

/// Statuses real and hostile servers answer with; the fuzzer picks by index.
const STATUSES: [u16; 16] = [
    200, 200, 201, 204, 302, 400, 401, 403, 404, 408, 429, 500, 502, 503, 0, 999,
];
const CONTENT_TYPES: [Option<&str>; 8] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some("text/html"),
    Some("APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8"),
    Some(""),
    None,
];

/// Byte 0 picks the status (low 4 bits; 0xF0 set means "any u16 from bytes 0-1"),
/// byte 1 picks the content type (bits 0-2) and a `Retry-After` (bits 3-4),
/// the rest is the body. Short inputs get a JSON 200 with the whole input as body.
pub fn response_from_bytes(data: &[u8]) -> HttpResponse {
    if data.len() < 2 {
        return json_response(200, data);
    }
    let status = if data[0] & 0xF0 == 0xF0 {
        u16::from_le_bytes([data[0] & 0x0F, data[1]])
    } else {
        STATUSES[(data[0] & 0x0F) as usize]
    };
    let mut headers = Vec::new();
    if let Some(ct) = CONTENT_TYPES[(data[1] & 0x07) as usize] {
        headers.push(Header::new("Content-Type", ct));
    }
    match (data[1] >> 3) & 0x03 {
        1 => headers.push(Header::new("Retry-After", "7")),
        2 => headers.push(Header::new("retry-after", "99999999999999999999")),
        3 => headers.push(Header::new("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")),
        _ => {}
    }
    HttpResponse::new(status, headers, data[2..].to_vec())
}

pub fn json_response(status: u16, body: &[u8]) -> HttpResponse {
    HttpResponse::new(
        status,
        vec![Header::new("content-type", "application/json")],
        body.to_vec(),
    )
}

pub fn config() -> Config {
    Config::new("fuzz-client", DEVICE_URL, TOKEN_URL).with_scope("openid offline_access")
}

/// A well-formed device authorization response (RFC 8628 §3.2), 5 s interval, 30 min.
pub const DEVICE_BODY: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":5}"#;
pub const DEVICE_CODE: &str = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";
pub const TOKEN_BODY: &str = r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#;

/// Expects a `Send`, or panics with what came instead.
pub fn expect_send<T: std::fmt::Debug>(action: Action<T>) -> HttpRequest {
    match action {
        Action::Send(req) => req,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// A flow with its first token poll in flight (fixed valid device response).
/// Returns the flow, the poll request and the time it was sent.
pub fn flow_at_first_poll() -> (DeviceFlow, HttpRequest, Timestamp) {
    let mut flow = DeviceFlow::new(config(), START).expect("valid config");
    let req = expect_send(flow.poll_action(START));
    let now = START.plus(120);
    flow.handle_response(req.id, json_response(200, DEVICE_BODY.as_bytes()), now)
        .unwrap();
    assert!(matches!(flow.poll_action(now), Action::Display(_)));
    let Action::Wait { until, .. } = flow.poll_action(now) else {
        panic!("expected the first interval wait")
    };
    let poll = expect_send(flow.poll_action(until));
    assert_eq!(poll.url, TOKEN_URL);
    (flow, poll, until)
}

/// Text that may reach a terminal: no control or format characters.
pub fn assert_clean(what: &str, s: &str) {
    assert!(
        !s.chars().any(is_unsafe_char),
        "{what} carries an unsafe character: {s:?}"
    );
}

/// What a `Display` hands out has been checked (RFC 8628 §3.3; the rules in core/src/display.rs).
pub fn check_prompt(p: &Prompt) {
    check_user_code(&p.user_code).expect("user_code was checked");
    let parts = check_secure_url(&p.verification_uri).expect("verification_uri was checked");
    assert_eq!(parts.host.to_ascii_lowercase(), p.verification_host);
    if let Some(c) = &p.verification_uri_complete {
        let cp = check_secure_url(c).expect("verification_uri_complete was checked");
        assert!(cp.host.eq_ignore_ascii_case(&p.verification_host));
    }
    if let Some(m) = &p.message {
        assert_clean("message", m);
        assert!(!m.contains(['\n', '\r', '\t']));
    }
    assert!(p.expires_in <= 86_400);
    assert!(
        p.interval >= 1 && p.interval <= 600,
        "interval {}",
        p.interval
    );
}

/// A protocol failure is well-formed and safe to print.
pub fn check_error(e: &FlowError) {
    assert!(!e.code().is_empty());
    assert_clean("FlowError.message", &e.message);
    assert_clean("FlowError Display", &e.to_string());
    for field in [&e.error, &e.error_description, &e.error_uri]
        .into_iter()
        .flatten()
    {
        assert_clean("FlowError field", field);
    }
}

/// Every action serialises (the bindings and `--json` depend on it), and every
/// string checked above stays checked.
pub fn check_action<T: Serialize + std::fmt::Debug>(action: &Action<T>) {
    serde_json::to_string(action).expect("an action always serialises");
    let _ = format!("{action:?}");
    match action {
        Action::Display(p) => check_prompt(p),
        Action::Failed(e) => check_error(e),
        _ => {}
    }
}

/// After `Done`/`Failed` the machine is finished: the action repeats and input is refused.
pub fn check_finished(flow: &mut DeviceFlow, last: &Action, now: Timestamp) {
    assert!(flow.is_finished());
    assert_eq!(&flow.poll_action(now.plus(1_000_000)), last);
    assert!(flow
        .handle_response(RequestId(1), json_response(200, b"{}"), now)
        .is_err());
    assert!(flow.cancel(now).is_err());
}

/// `Debug` of a request never shows the device code it carries.
pub fn check_redacted(req: &HttpRequest, secret: &str) {
    let shown = format!("{req:?}");
    let visible_anyway = req.url.contains(secret)
        || req
            .headers
            .iter()
            .any(|h| h.name.contains(secret) || h.value.contains(secret));
    if secret.len() >= 8 && !visible_anyway {
        assert!(!shown.contains(secret), "secret leaked in {shown}");
    }
}

pub mod targets;
