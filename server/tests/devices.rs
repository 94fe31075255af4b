//! "Your devices": a signed-in user sees the devices holding a grant from them and revokes one;
//! its refresh and access tokens end at once; nobody else can revoke it.

use std::time::Duration;

use deviceflow_server::{spawn, ServerConfig, ServerHandle};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

fn post_json(s: &ServerHandle, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = agent()
        .post(&format!("{}{path}", s.issuer()))
        .send_form(form.iter().copied())
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null),
    )
}

/// A browser: its cookie follows every Set-Cookie.
struct Browser {
    cookie: String,
}

impl Browser {
    fn get(&mut self, s: &ServerHandle, path: &str) -> (u16, String) {
        let mut req = agent().get(&format!("{}{path}", s.issuer()));
        if !self.cookie.is_empty() {
            req = req.header("Cookie", &self.cookie);
        }
        let mut r = req.call().unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn post(&mut self, s: &ServerHandle, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut r = agent()
            .post(&format!("{}{path}", s.issuer()))
            .header("Cookie", &self.cookie)
            .send_form(form.iter().copied())
            .unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn keep(&mut self, r: &ureq::http::Response<ureq::Body>) {
        if let Some(v) = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = v.split(';').next().unwrap().to_owned();
        }
    }

    /// Signs in as `name` (dev sign-in) by entering `user_code`, and approves.
    fn approve(&mut self, s: &ServerHandle, name: &str, user_code: &str) {
        let (_, page) = self.get(s, "/device");
        let csrf = between(&page, "name=\"csrf\" value=\"", "\"");
        let (status, page) = self.post(
            s,
            "/device",
            &[
                ("csrf", &csrf),
                ("username", name),
                ("user_code", user_code),
            ],
        );
        assert_eq!(status, 200, "{page}");
        let (status, page) = self.post(
            s,
            "/device/confirm",
            &[("csrf", &csrf), ("decision", "approve")],
        );
        assert_eq!(status, 200, "{page}");
    }
}

fn between(s: &str, start: &str, end: &str) -> String {
    s.split(start)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap_or_else(|| panic!("no {start} in {s}"))
        .to_owned()
}

/// A device logs in and its user approves in `browser`: the token response.
fn device_login(s: &ServerHandle, browser: &mut Browser, name: &str) -> Value {
    let (_, a) = post_json(
        s,
        "/device_authorization",
        &[("client_id", "deviceflow-cli")],
    );
    browser.approve(s, name, a["user_code"].as_str().unwrap());
    let (status, tokens) = post_json(
        s,
        "/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "deviceflow-cli"),
            ("device_code", a["device_code"].as_str().unwrap()),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn userinfo_status(s: &ServerHandle, access: &str) -> u16 {
    agent()
        .get(&format!("{}/userinfo", s.issuer()))
        .header("Authorization", &format!("Bearer {access}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_user_sees_their_devices_and_revokes_one_at_once() {
    let s = spawn(ServerConfig::default()).unwrap();
    let mut alice = Browser {
        cookie: String::new(),
    };
    let mut bob = Browser {
        cookie: String::new(),
    };
    let tv = device_login(&s, &mut alice, "alice");
    let laptop = device_login(&s, &mut alice, "alice");
    let bobs = device_login(&s, &mut bob, "bob");

    let (status, page) = alice.get(&s, "/device/grants");
    assert_eq!(status, 200);
    assert_eq!(page.matches("class=\"grant\"").count(), 2, "{page}");
    assert!(page.contains("deviceflow CLI") && page.contains("<code>offline_access</code>"));
    assert!(page.contains("127.0.0.1") && page.contains("UTC"));
    for t in [&tv, &laptop, &bobs] {
        for k in ["access_token", "refresh_token"] {
            assert!(
                !page.contains(t[k].as_str().unwrap()),
                "a token on the page"
            );
        }
    }
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"");
    let grants: Vec<String> = page
        .split("name=\"grant\" value=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_owned())
        .collect();

    // Bob cannot revoke Alice's devices.
    let (_, bob_page) = bob.get(&s, "/device/grants");
    let bob_csrf = between(&bob_page, "name=\"csrf\" value=\"", "\"");
    let (status, _) = bob.post(
        &s,
        "/device/grants/revoke",
        &[("csrf", &bob_csrf), ("grant", &grants[0])],
    );
    assert_eq!(status, 404);
    // Nor can a form without Alice's CSRF token.
    let (status, _) = alice.post(
        &s,
        "/device/grants/revoke",
        &[("csrf", "forged"), ("grant", &grants[0])],
    );
    assert_eq!(status, 403);
    assert_eq!(
        userinfo_status(&s, tv["access_token"].as_str().unwrap()),
        200
    );

    // Alice revokes the most recently used one (the laptop): its tokens end now.
    let (status, _) = alice.post(
        &s,
        "/device/grants/revoke",
        &[("csrf", &csrf), ("grant", &grants[0])],
    );
    assert_eq!(status, 303);
    assert_eq!(
        userinfo_status(&s, laptop["access_token"].as_str().unwrap()),
        401
    );
    let (status, body) = post_json(
        &s,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "deviceflow-cli"),
            ("refresh_token", laptop["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The others keep working, and the page now lists one device.
    assert_eq!(
        userinfo_status(&s, tv["access_token"].as_str().unwrap()),
        200
    );
    assert_eq!(
        userinfo_status(&s, bobs["access_token"].as_str().unwrap()),
        200
    );
    let (_, page) = alice.get(&s, "/device/grants");
    assert_eq!(page.matches("class=\"grant\"").count(), 1, "{page}");
    s.shutdown();
}
