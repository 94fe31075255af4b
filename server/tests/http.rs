//! The HTTP server over real loopback sockets: endpoints, headers, the verification pages
//! driven like a browser, CSRF, limits, shutdown.

use std::time::Duration;

use deviceflow_server::{approve_via_page, spawn, Decision, ServerConfig, ServerHandle};
use serde_json::Value;
use ureq::http::Response;
use ureq::Body;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn server() -> ServerHandle {
    spawn(ServerConfig::default()).unwrap()
}

fn post(s: &ServerHandle, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = agent()
        .post(&format!("{}{path}", s.issuer()))
        .send_form(form.iter().copied())
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn authorize(s: &ServerHandle) -> Value {
    let (status, body) = post(
        s,
        "/device_authorization",
        &[("client_id", "deviceflow-cli")],
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn poll(s: &ServerHandle, device_code: &str) -> (u16, Value) {
    post(
        s,
        "/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "deviceflow-cli"),
            ("device_code", device_code),
        ],
    )
}

fn header<'a>(r: &'a Response<Body>, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[test]
fn metadata_is_served_at_both_well_known_paths() {
    let s = server();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let mut r = agent()
            .get(&format!("{}{path}", s.issuer()))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        let m: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(m["issuer"], s.issuer());
        assert_eq!(
            m["device_authorization_endpoint"],
            format!("{}/device_authorization", s.issuer())
        );
        assert_eq!(m["token_endpoint"], format!("{}/token", s.issuer()));
        assert_eq!(m["revocation_endpoint"], format!("{}/revoke", s.issuer()));
        assert_eq!(m["grant_types_supported"][0], DEVICE_GRANT);
    }
    assert!(s.issuer().starts_with("http://127.0.0.1:"));
    s.shutdown();
}

#[test]
fn full_flow_through_the_pages_then_refresh_and_revoke() {
    let s = server();
    let a = authorize(&s);
    assert_eq!(a["interval"], 5);
    let dc = a["device_code"].as_str().unwrap();
    let (status, body) = poll(&s, dc);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let code = a["user_code"].as_str().unwrap().to_lowercase();
    let decision = approve_via_page(s.issuer(), &code, "alice", true).unwrap();
    assert_eq!(decision, Decision::Approved);
    let (status, tokens) = poll(&s, dc);
    assert_eq!(status, 200, "{tokens}");
    let at = tokens["access_token"].as_str().unwrap();
    let mut me = agent()
        .get(&format!("{}/userinfo", s.issuer()))
        .header("Authorization", &format!("Bearer {at}"))
        .call()
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.body_mut().read_to_string().unwrap(),
        r#"{"sub":"alice"}"#
    );
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = post(
        &s,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "deviceflow-cli"),
            ("refresh_token", rt),
        ],
    );
    assert_eq!(status, 200);
    let rt2 = refreshed["refresh_token"].as_str().unwrap();
    let (status, _) = post(
        &s,
        "/revoke",
        &[("client_id", "deviceflow-cli"), ("token", rt2)],
    );
    assert_eq!(status, 200);
    let (status, err) = post(
        &s,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "deviceflow-cli"),
            ("refresh_token", rt2),
        ],
    );
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    s.shutdown();
}

#[test]
fn deny_through_the_pages_gives_access_denied() {
    let s = server();
    let a = authorize(&s);
    let decision = approve_via_page(
        &s.verification_uri(),
        a["user_code"].as_str().unwrap(),
        "bob",
        false,
    );
    assert_eq!(decision.unwrap(), Decision::Denied);
    let (status, body) = poll(&s, a["device_code"].as_str().unwrap());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );
    // The code is locked now: a second visit can't approve it.
    assert!(approve_via_page(s.issuer(), a["user_code"].as_str().unwrap(), "eve", true).is_err());
    s.shutdown();
}

/// GET /device?user_code=… → 303 to /device with a session cookie; the form is prefilled.
fn open_page(s: &ServerHandle, code: &str) -> (String, String) {
    let r = agent()
        .get(&format!("{}/device?user_code={code}", s.issuer()))
        .call()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/device");
    let set = header(&r, "set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let mut page = agent()
        .get(&format!("{}/device", s.issuer()))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert!(header(&page, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header(&page, "cache-control"), "no-store");
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains(&format!("value=\"{code}\"")), "prefilled");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    (cookie, csrf.to_owned())
}

#[test]
fn confirmation_page_shows_client_scopes_code_and_warning() {
    let s = server();
    let a = authorize(&s);
    let code = a["user_code"].as_str().unwrap();
    let (cookie, csrf) = open_page(&s, code);
    let mut r = agent()
        .post(&format!("{}/device", s.issuer()))
        .header("Cookie", &cookie)
        .send_form([
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("user_code", code),
        ])
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.body_mut().read_to_string().unwrap();
    for needle in [
        "deviceflow CLI",
        "<code>offline_access</code>",
        &format!("id=\"user-code\">{code}<"),
        "Only continue if you started this sign-in yourself",
        "value=\"deny\">Deny</button>",
        "value=\"approve\">Approve</button>",
        "Signed in as</dt><dd>alice",
        "127.0.0.1",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains("autofocus"));
    // Viewing the pages approved nothing.
    assert_eq!(
        poll(&s, a["device_code"].as_str().unwrap()).1["error"],
        "authorization_pending"
    );
    s.shutdown();
}

#[test]
fn forms_without_the_session_csrf_token_are_refused() {
    let s = server();
    let a = authorize(&s);
    let code = a["user_code"].as_str().unwrap();
    let (cookie, csrf) = open_page(&s, code);
    let url = format!("{}/device", s.issuer());
    let wrong = agent()
        .post(&url)
        .header("Cookie", &cookie)
        .send_form([("csrf", "forged"), ("username", "m"), ("user_code", code)])
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let no_cookie = agent()
        .post(&url)
        .send_form([
            ("csrf", csrf.as_str()),
            ("username", "m"),
            ("user_code", code),
        ])
        .unwrap();
    assert_eq!(no_cookie.status(), 403);
    let cross_site = agent()
        .post(&url)
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .send_form([
            ("csrf", csrf.as_str()),
            ("username", "m"),
            ("user_code", code),
        ])
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    // A decision without having been shown the confirmation in this session.
    let blind = agent()
        .post(&format!("{}/device/confirm", s.issuer()))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str()), ("decision", "approve")])
        .unwrap();
    assert_eq!(blind.status(), 403);
    assert_eq!(
        poll(&s, a["device_code"].as_str().unwrap()).1["error"],
        "authorization_pending"
    );
    s.shutdown();
}

#[test]
fn wrong_codes_get_one_generic_message_then_a_limit_for_that_browser() {
    let mut config = ServerConfig::default();
    config.limits.failures_per_session = 3;
    let s = spawn(config).unwrap();
    let a = authorize(&s);
    let (cookie, csrf) = open_page(&s, "BBBB-BBBB");
    let url = format!("{}/device", s.issuer());
    let try_code = |code: &str| {
        let mut r = agent()
            .post(&url)
            .header("Cookie", &cookie)
            .send_form([
                ("csrf", csrf.as_str()),
                ("username", "m"),
                ("user_code", code),
            ])
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    for _ in 0..3 {
        let (status, html) = try_code("BBBB-BBBB");
        assert_eq!(status, 400);
        assert!(html.contains("invalid, expired or already used"));
    }
    let (status, html) = try_code(a["user_code"].as_str().unwrap());
    assert_eq!(status, 429);
    assert!(html.contains("Too many wrong codes from this browser"));
    // Another browser at the same address is not refused.
    let (cookie2, csrf2) = open_page(&s, "CCCC-CCCC");
    let r = agent()
        .post(&url)
        .header("Cookie", &cookie2)
        .send_form([
            ("csrf", csrf2.as_str()),
            ("username", "v"),
            ("user_code", a["user_code"].as_str().unwrap()),
        ])
        .unwrap();
    assert_eq!(r.status(), 200);
    s.shutdown();
}

#[test]
fn json_errors_have_the_right_status_and_headers() {
    let s = server();
    let r = agent()
        .post(&format!("{}/token", s.issuer()))
        .send_form([
            ("grant_type", DEVICE_GRANT),
            ("client_id", "nobody"),
            ("device_code", "x"),
        ])
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").starts_with("Basic"));
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(header(&r, "cache-control"), "no-store");
    let (status, body) = post(
        &s,
        "/token",
        &[("client_id", "deviceflow-cli"), ("client_id", "x")],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    s.shutdown();
}

#[test]
fn oversized_bodies_are_refused() {
    let s = server();
    let big = "a".repeat(64 * 1024);
    let r = agent()
        .post(&format!("{}/token", s.issuer()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("client_id={big}"))
        .unwrap();
    assert_eq!(r.status(), 413);
    let garbage: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
    let r = agent()
        .post(&format!("{}/device", s.issuer()))
        .send(&garbage[..])
        .unwrap();
    assert_eq!(r.status(), 403);
    s.shutdown();
}

#[test]
fn shutdown_stops_listening() {
    let s = server();
    let addr = s.local_addr();
    let issuer = s.issuer().to_owned();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    s.shutdown();
    assert!(agent()
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .call()
        .is_err());
}
