//! Sign-in on the verification pages, end to end over real loopback HTTP: the host application
//! of `examples/host_app.rs` with its own login page; an authenticating proxy's header, from
//! trusted and untrusted addresses; an upstream OpenID provider (an in-process one here; the
//! real node-oidc-provider, driven by Chromium, is `tests/e2e/server-upstream.test.mjs`); and
//! the dev name box.
// Each test states only the settings it changes from the defaults.
#![allow(clippy::field_reassign_with_default)]

#[path = "../../examples/host_app.rs"]
#[allow(dead_code)]
mod host_app;

#[path = "../fixtures/raw_http.rs"]
mod raw_http;

mod dev;
mod host;
mod proxy;
mod upstream;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use deviceflow_server::http::signin::{HeaderSignIn, SignIn, UpstreamSignIn};
use deviceflow_server::{spawn, ServerConfig, ServerHandle};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

// ---- A browser: ureq, no automatic redirects, a cookie jar (by name; every site here is
// 127.0.0.1, and a browser sends its cookies whatever the port).

struct Page {
    status: u16,
    location: String,
    body: String,
}

#[derive(Default)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build();
    ureq::Agent::new_with_config(config)
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, resp: &mut ureq::http::Response<ureq::Body>) -> Page {
        for set in resp.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Page {
            status: resp.status().as_u16(),
            location,
            body: resp.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&mut self, url: &str) -> Page {
        let mut resp = agent()
            .get(url)
            .header("Cookie", &self.cookie_header())
            .call()
            .unwrap();
        self.keep(&mut resp)
    }

    fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let mut resp = agent()
            .post(url)
            .header("Cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .unwrap();
        self.keep(&mut resp)
    }
}

/// `http://host:port` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").unwrap() + 3;
    &url[..after + url[after..].find('/').unwrap_or(url.len() - after)]
}

/// An absolute URL for a `Location` (root-relative ones are resolved against `base`).
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        location.to_owned()
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
    &s[from..from + s[from..].find(end).unwrap()]
}

fn csrf(page: &Page) -> String {
    between(&page.body, "name=\"csrf\" value=\"", "\"").to_owned()
}

fn outcome(page: &Page) -> &str {
    between(&page.body, "data-outcome=\"", "\"")
}

// ---- The OAuth side (the device).

fn post_json(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = agent().post(url).send_form(form.iter().copied()).unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap(),
    )
}

fn authorize(issuer: &str) -> Value {
    let (status, a) = post_json(
        &format!("{issuer}/device_authorization"),
        &[("client_id", "deviceflow-cli"), ("scope", "openid profile")],
    );
    assert_eq!(status, 200, "{a}");
    a
}

fn poll(issuer: &str, a: &Value) -> (u16, Value) {
    post_json(
        &format!("{issuer}/token"),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "deviceflow-cli"),
            ("device_code", a["device_code"].as_str().unwrap()),
        ],
    )
}

/// Polls until tokens, then asks `/userinfo` who they belong to.
fn subject_of_tokens(issuer: &str, a: &Value) -> String {
    let (status, tokens) = poll(issuer, a);
    assert_eq!(status, 200, "{tokens}");
    let mut me = agent()
        .get(&format!("{issuer}/userinfo"))
        .header(
            "Authorization",
            &format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        )
        .call()
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = serde_json::from_str(&me.body_mut().read_to_string().unwrap()).unwrap();
    me["sub"].as_str().unwrap().to_owned()
}

fn pending(issuer: &str, a: &Value) -> bool {
    poll(issuer, a).1["error"] == "authorization_pending"
}

/// On the entry page of `page_url` (signed in): the code, then the decision.
fn enter_and_decide(b: &mut Browser, page_url: &str, code: &str, decision: &str) -> Page {
    let entry = b.get(page_url);
    assert_eq!(entry.status, 200, "{}", entry.body);
    let confirm = b.post(page_url, &[("csrf", &csrf(&entry)), ("user_code", code)]);
    assert_eq!(outcome(&confirm), "confirm", "{}", confirm.body);
    b.post(
        &format!("{page_url}/confirm"),
        &[("csrf", &csrf(&confirm)), ("decision", decision)],
    )
}
