//! Sign-in on the verification pages, end to end over real loopback HTTP: the host application
//! of `examples/host_app.rs` with its own login page; an authenticating proxy's header, from
//! trusted and untrusted addresses; an upstream OpenID provider (an in-process one here; the
//! real node-oidc-provider, driven by Chromium, is `tests/e2e/server-upstream.test.mjs`); and
//! the dev name box.
// Each test states only the settings it changes from the defaults.
#![allow(clippy::field_reassign_with_default)]

#[path = "../examples/host_app.rs"]
#[allow(dead_code)]
mod host_app;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
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

// ---- The host application (examples/host_app.rs), in-process.

struct Host {
    rt: tokio::runtime::Runtime,
    issuer: String,
}

fn host(config: ServerConfig) -> Host {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let (app, embedded) = host_app::host_app(&origin, config).await.unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        embedded.issuer
    });
    Host { rt, issuer }
}

/// Signs `user` in on the host's own login page, from wherever the device page sent us.
fn host_login(b: &Host, browser: &mut Browser, user: &str) {
    let page = format!("{}/device", b.issuer);
    let sent = browser.get(&page);
    assert_eq!(sent.status, 303);
    assert_eq!(sent.location, "/login?next=%2Flogin%2Fdevice%2Fdevice");
    let login_url = absolute(&b.issuer, &sent.location);
    let form = browser.get(&login_url);
    assert_eq!(form.status, 200);
    let next = between(&form.body, "name=\"next\" value=\"", "\"").to_owned();
    let done = browser.post(
        &absolute(&b.issuer, "/login"),
        &[("username", user), ("next", &next)],
    );
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/login/device/device")
    );
}

/// Another user signs in at the host in this browser.
fn switch_user(h: &Host, browser: &mut Browser, user: &str) {
    let login = browser.post(
        &absolute(&h.issuer, "/login"),
        &[("username", user), ("next", "/login/device/device")],
    );
    assert_eq!(login.status, 303);
}

#[test]
fn a_host_app_signs_the_user_in_on_its_own_login_page_under_its_prefix() {
    let mut config = ServerConfig::default();
    config.interval_secs = 1;
    let h = host(config);
    let issuer = h.issuer.clone();
    assert!(issuer.ends_with("/login/device"), "{issuer}");
    // Metadata, endpoints and the verification URI carry the prefix.
    let mut meta = agent()
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .call()
        .unwrap();
    let meta: Value = serde_json::from_str(&meta.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["token_endpoint"], format!("{issuer}/token"));
    let a = authorize(&issuer);
    assert_eq!(a["verification_uri"], format!("{issuer}/device"));
    let code = a["user_code"].as_str().unwrap();

    let mut b = Browser::default();
    let first = b.get(a["verification_uri_complete"].as_str().unwrap());
    assert_eq!(
        (first.status, first.location.as_str()),
        (303, "/login/device/device")
    );
    // Nobody is signed in at the host: the page sends the browser to the host's login.
    host_login(&h, &mut b, "bob");
    assert!(b.cookies.contains_key("host_user"));
    let entry = b.get(&format!("{issuer}/device"));
    assert_eq!(outcome(&entry), "entry");
    assert!(
        entry.body.contains("Signed in as <strong>bob</strong>"),
        "{}",
        entry.body
    );
    assert!(!entry.body.contains("name=\"username\""), "no name box");
    assert!(
        entry.body.contains(&format!("value=\"{code}\"")),
        "the code survived the login"
    );
    for action in [
        "action=\"/login/device/device\"",
        "action=\"/login/device/device/signout\"",
    ] {
        assert!(entry.body.contains(action), "missing {action}");
    }
    let done = enter_and_decide(&mut b, &format!("{issuer}/device"), code, "approve");
    assert_eq!(outcome(&done), "approved", "{}", done.body);
    assert_eq!(subject_of_tokens(&issuer, &a), "bob");
    drop(h.rt);
}

#[test]
fn the_cookie_is_scoped_to_the_prefix_and_not_you_leads_to_the_host_sign_out() {
    let h = host(ServerConfig::default());
    let issuer = h.issuer.clone();
    let mut resp = agent()
        .get(&format!("{issuer}/device?user_code=BCDF-GHJK"))
        .call()
        .unwrap();
    let set = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set.contains("; Path=/login/device;"), "{set}");
    let _ = resp.body_mut().read_to_string();

    let mut b = Browser::default();
    host_login(&h, &mut b, "bob");
    let entry = b.get(&format!("{issuer}/device"));
    let out = b.post(
        &format!("{issuer}/device/signout"),
        &[("csrf", &csrf(&entry))],
    );
    assert_eq!(outcome(&out), "signed-out");
    assert!(
        out.body
            .contains("href=\"/logout?next=%2Flogin%2Fdevice%2Fdevice\""),
        "{}",
        out.body
    );
    // A forged sign-out (no CSRF token) is refused.
    let forged = b.post(&format!("{issuer}/device/signout"), &[("csrf", "x")]);
    assert_eq!(forged.status, 403);
    drop(h.rt);
}

#[test]
fn a_user_switch_between_confirmation_and_decision_approves_nothing() {
    let h = host(ServerConfig::default());
    let issuer = h.issuer.clone();
    let a = authorize(&issuer);
    let code = a["user_code"].as_str().unwrap();
    let page = format!("{issuer}/device");
    let mut b = Browser::default();
    host_login(&h, &mut b, "bob");
    let entry = b.get(&page);
    let confirm = b.post(&page, &[("csrf", &csrf(&entry)), ("user_code", code)]);
    assert!(
        confirm.body.contains("Signed in as</dt><dd>bob, "),
        "{}",
        confirm.body
    );
    // Someone else signs in at the host in the same browser, then the decision is posted.
    switch_user(&h, &mut b, "carol");
    let decided = b.post(
        &format!("{page}/confirm"),
        &[("csrf", &csrf(&confirm)), ("decision", "approve")],
    );
    assert_eq!(decided.status, 403);
    assert!(
        decided.body.contains("shown to another user"),
        "{}",
        decided.body
    );
    assert!(pending(&issuer, &a));
    drop(h.rt);
}

#[test]
fn entry_limits_follow_the_signed_in_user_across_browsers() {
    let mut config = ServerConfig::default();
    config.limits.failures_per_session = 2;
    let h = host(config);
    let issuer = h.issuer.clone();
    let page = format!("{issuer}/device");
    let a = authorize(&issuer);
    let code = a["user_code"].as_str().unwrap();
    let wrong = |b: &mut Browser| {
        let entry = b.get(&page);
        b.post(
            &page,
            &[("csrf", &csrf(&entry)), ("user_code", "BBBB-BBBB")],
        )
    };
    let mut first = Browser::default();
    host_login(&h, &mut first, "bob");
    for _ in 0..2 {
        assert_eq!(wrong(&mut first).status, 400);
    }
    // Bob in a fresh browser (new session cookie) is still over his limit...
    let mut second = Browser::default();
    host_login(&h, &mut second, "bob");
    let entry = second.get(&page);
    let refused = second.post(&page, &[("csrf", &csrf(&entry)), ("user_code", code)]);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused
        .body
        .contains("Too many wrong codes from your account"));
    // ...while Carol, in the browser Bob failed in, is not.
    switch_user(&h, &mut first, "carol");
    let done = enter_and_decide(&mut first, &page, code, "approve");
    assert_eq!(outcome(&done), "approved");
    assert_eq!(subject_of_tokens(&issuer, &a), "carol");
    drop(h.rt);
}

// ---- Behind an authenticating proxy: the header, believed only from trusted proxies.

/// One HTTP/1.1 exchange from source address `from`: (status, Set-Cookie pair, body).
fn raw(
    from: IpAddr,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>, String) {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&SocketAddr::new(from, 0).into()).unwrap();
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|v| v.split(';').next().unwrap().to_owned());
    (status, cookie, body.to_owned())
}

const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const ELSEWHERE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const USER_HEADER: &str = "X-Auth-Request-User";

fn behind_proxy() -> ServerHandle {
    let mut config = ServerConfig::default();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    config.sign_in = SignIn::Header(HeaderSignIn::new(USER_HEADER));
    spawn(config).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn from_a_trusted_proxy_the_header_names_the_user() {
    let s = behind_proxy();
    let a = authorize(s.issuer());
    let code = a["user_code"].as_str().unwrap();
    let to = s.local_addr();
    let as_alice = [(USER_HEADER, "alice")];
    let (status, cookie, entry) = raw(PROXY, to, "GET", "/device", &as_alice, "");
    assert_eq!(status, 200, "{entry}");
    assert!(
        entry.contains("Signed in as <strong>alice</strong>"),
        "{entry}"
    );
    assert!(!entry.contains("name=\"username\""));
    let cookie = cookie.unwrap();
    let csrf = between(&entry, "name=\"csrf\" value=\"", "\"").to_owned();
    let with = [(USER_HEADER, "alice"), ("Cookie", cookie.as_str())];
    let (status, cookie, confirm) = raw(
        PROXY,
        to,
        "POST",
        "/device",
        &with,
        &form(&[("csrf", &csrf), ("user_code", code)]),
    );
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("Signed in as</dt><dd>alice, "));
    let cookie = cookie.unwrap();
    let with = [(USER_HEADER, "alice"), ("Cookie", cookie.as_str())];
    let (status, _, done) = raw(
        PROXY,
        to,
        "POST",
        "/device/confirm",
        &with,
        &form(&[("csrf", &csrf), ("decision", "approve")]),
    );
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("data-outcome=\"approved\""));
    assert_eq!(subject_of_tokens(s.issuer(), &a), "alice");
    s.shutdown();
}

#[test]
fn from_anywhere_else_the_header_is_ignored_and_the_page_refused() {
    let s = behind_proxy();
    let a = authorize(s.issuer());
    let to = s.local_addr();
    let (status, _, page) = raw(
        ELSEWHERE,
        to,
        "GET",
        "/device",
        &[(USER_HEADER, "alice")],
        "",
    );
    assert_eq!(status, 403);
    assert!(
        page.contains("served only through the sign-in proxy"),
        "{page}"
    );
    assert!(!page.contains("alice"), "the header was never read");
    // Not even with a session and a CSRF token obtained through the proxy.
    let (_, cookie, entry) = raw(PROXY, to, "GET", "/device", &[(USER_HEADER, "alice")], "");
    let csrf = between(&entry, "name=\"csrf\" value=\"", "\"").to_owned();
    let cookie = cookie.unwrap();
    let (status, _, _) = raw(
        ELSEWHERE,
        to,
        "POST",
        "/device",
        &[(USER_HEADER, "alice"), ("Cookie", &cookie)],
        &form(&[
            ("csrf", &csrf),
            ("user_code", a["user_code"].as_str().unwrap()),
        ]),
    );
    assert_eq!(status, 403);
    assert!(pending(s.issuer(), &a));
    s.shutdown();
}

#[test]
fn a_trusted_proxy_that_names_nobody_gets_a_clear_refusal() {
    let s = behind_proxy();
    let to = s.local_addr();
    let (status, _, page) = raw(PROXY, to, "GET", "/device", &[], "");
    assert_eq!(status, 403);
    assert!(page.contains("did not say who you are"), "{page}");
    assert!(page.contains(USER_HEADER), "{page}");
    let twice = [(USER_HEADER, "alice"), (USER_HEADER, "mallory")];
    let (status, _, _) = raw(PROXY, to, "GET", "/device", &twice, "");
    assert_eq!(status, 403, "two users is nobody");
    let (status, _, _) = raw(PROXY, to, "GET", "/device", &[(USER_HEADER, " ")], "");
    assert_eq!(status, 403, "an empty name is nobody");
    s.shutdown();
}

#[test]
fn a_header_sign_in_without_trusted_proxies_does_not_start() {
    let mut config = ServerConfig::default();
    config.sign_in = SignIn::Header(HeaderSignIn::new(USER_HEADER));
    let err = spawn(config).unwrap_err();
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
}

// ---- The dev name box.

#[test]
fn the_dev_sign_in_asks_a_name_keeps_it_and_forgets_it_on_not_you() {
    let s = spawn(ServerConfig::default()).unwrap();
    let page = format!("{}/device", s.issuer());
    let a = authorize(s.issuer());
    let mut b = Browser::default();
    let entry = b.get(&page);
    assert!(entry.body.contains("name=\"username\""), "the name box");
    let confirm = b.post(
        &page,
        &[
            ("csrf", &csrf(&entry)),
            ("username", "dora"),
            ("user_code", a["user_code"].as_str().unwrap()),
        ],
    );
    assert!(confirm.body.contains("Signed in as</dt><dd>dora, "));
    let again = b.get(&page);
    assert!(again.body.contains("Signed in as <strong>dora</strong>"));
    assert!(!again.body.contains("name=\"username\""));
    let out = b.post(&format!("{page}/signout"), &[("csrf", &csrf(&again))]);
    assert_eq!((out.status, out.location.as_str()), (303, "/device"));
    assert!(
        b.get(&page).body.contains("name=\"username\""),
        "asked again"
    );
    s.shutdown();
}

// ---- An upstream OpenID provider, in-process: discovery, authorization (signs `alice-sub`
// in at once), token endpoint (checks the client secret, redirect URI and PKCE verifier),
// JWKS. `Op::nonce` can make it put another nonce in the ID token.

#[derive(Default)]
struct OpState {
    issuer: String,
    codes: HashMap<String, (String, String, String)>, // code → (challenge, nonce, redirect_uri)
    wrong_nonce: bool,
    deny: bool,
    verifier_checks: usize,
}

type Op = Arc<Mutex<OpState>>;

fn op_key() -> EncodingKey {
    let secret = p256::SecretKey::from_slice(&[9; 32]).unwrap();
    EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes())
}

fn query(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn op_discovery(State(op): State<Op>) -> Response {
    let issuer = op.lock().unwrap().issuer.clone();
    reply(
        StatusCode::OK,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "code_challenge_methods_supported": ["S256"],
        }),
    )
}

async fn op_jwks() -> Response {
    let mut jwk = Jwk::from_encoding_key(&op_key(), Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("op-1".into());
    reply(StatusCode::OK, json!({ "keys": [jwk] }))
}

async fn op_authorize(State(op): State<Op>, uri: Uri) -> Response {
    let q = query(&uri);
    let mut op = op.lock().unwrap();
    assert_eq!(q["client_id"], "front");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let redirect = &q["redirect_uri"];
    let state = form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>();
    let to = if op.deny {
        format!("{redirect}?error=access_denied&state={state}")
    } else {
        let code = format!("code-{}", op.codes.len());
        let grant = (
            q["code_challenge"].clone(),
            q["nonce"].clone(),
            redirect.clone(),
        );
        op.codes.insert(code.clone(), grant);
        let iss: String = form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect();
        format!("{redirect}?code={code}&state={state}&iss={iss}")
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn op_token(State(op): State<Op>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut op = op.lock().unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("front:front-secret")
    );
    let bad = |why: &str| {
        reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_grant", "error_description": why }),
        )
    };
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_client" }),
        );
    }
    let Some((challenge, nonce, redirect)) = op.codes.remove(&form["code"]) else {
        return bad("unknown code");
    };
    op.verifier_checks += 1;
    if B64.encode(Sha256::digest(form["code_verifier"].as_bytes())) != challenge {
        return bad("PKCE verifier does not match");
    }
    if form["redirect_uri"] != redirect || form["grant_type"] != "authorization_code" {
        return bad("redirect_uri or grant_type");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let nonce = if op.wrong_nonce {
        "not-the-nonce".to_owned()
    } else {
        nonce
    };
    let claims = json!({
        "iss": op.issuer, "aud": "front", "sub": "alice-sub", "nonce": nonce,
        "iat": now, "exp": now + 300, "name": "Alice Upstream",
    });
    let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
    h.kid = Some("op-1".into());
    let id_token = jsonwebtoken::encode(&h, &claims, &op_key()).unwrap();
    reply(
        StatusCode::OK,
        json!({ "access_token": "at", "token_type": "Bearer", "id_token": id_token }),
    )
}

struct Upstream {
    rt: tokio::runtime::Runtime,
    op: Op,
    server: ServerHandle,
}

fn upstream() -> Upstream {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let op: Op = Arc::default();
    let issuer = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        op.lock().unwrap().issuer = issuer.clone();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(op_discovery))
            .route("/auth", get(op_authorize))
            .route("/token", post(op_token))
            .route("/jwks", get(op_jwks))
            .with_state(op.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    });
    let mut up = UpstreamSignIn::new(issuer, "front");
    up.client_secret = Some("front-secret".into());
    let mut config = ServerConfig::default();
    config.sign_in = SignIn::Upstream(up);
    Upstream {
        rt,
        op,
        server: spawn(config).unwrap(),
    }
}

/// Opens the page and follows the redirects to the provider and back, stopping at the
/// callback (returned, not yet visited).
fn to_callback(b: &mut Browser, issuer: &str) -> String {
    let sent = b.get(&format!("{issuer}/device"));
    assert_eq!(
        (sent.status, sent.location.as_str()),
        (303, "/device/signin")
    );
    let to_op = b.get(&absolute(issuer, &sent.location));
    assert_eq!(to_op.status, 303, "{}", to_op.body);
    assert!(!to_op.location.contains("code_verifier"));
    let back = b.get(&to_op.location);
    assert_eq!(back.status, 303);
    assert!(
        back.location
            .starts_with(&format!("{issuer}/device/callback?")),
        "{}",
        back.location
    );
    back.location
}

#[test]
fn an_upstream_provider_signs_the_user_in_with_pkce_state_and_nonce() {
    let up = upstream();
    let issuer = up.server.issuer().to_owned();
    let a = authorize(&issuer);
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let landed = b.get(&callback);
    assert_eq!(
        (landed.status, landed.location.as_str()),
        (303, "/device"),
        "{}",
        landed.body
    );
    assert_eq!(up.op.lock().unwrap().verifier_checks, 1);
    let entry = b.get(&format!("{issuer}/device"));
    assert!(
        entry
            .body
            .contains("Signed in as <strong>Alice Upstream</strong>"),
        "{}",
        entry.body
    );
    // The callback cannot be used twice (the pending sign-in is gone with the old session).
    assert_eq!(b.get(&callback).status, 400);
    let done = enter_and_decide(
        &mut b,
        &format!("{issuer}/device"),
        a["user_code"].as_str().unwrap(),
        "approve",
    );
    assert_eq!(outcome(&done), "approved");
    assert_eq!(subject_of_tokens(&issuer, &a), "alice-sub");
    // "Not you?": the page forgets the user and asks the provider to authenticate again.
    let entry = b.get(&format!("{issuer}/device"));
    let out = b.post(
        &format!("{issuer}/device/signout"),
        &[("csrf", &csrf(&entry))],
    );
    assert_eq!(outcome(&out), "signed-out");
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    let to_op = b.get(&format!("{issuer}/device/signin"));
    assert!(
        to_op.location.contains("prompt=login"),
        "{}",
        to_op.location
    );
    drop(up.rt);
}

#[test]
fn a_tampered_state_is_refused_and_leaves_the_sign_in_intact() {
    let up = upstream();
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let state = between(&callback, "state=", "&").to_owned();
    let tampered = callback.replace(&format!("state={state}"), "state=forged");
    let refused = b.get(&tampered);
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("could not be verified"),
        "{}",
        refused.body
    );
    assert_eq!(
        up.op.lock().unwrap().verifier_checks,
        0,
        "the code was not even exchanged"
    );
    // Another browser (no session) replaying the genuine callback gets nothing either.
    assert_eq!(Browser::default().get(&callback).status, 400);
    // The genuine one still signs in.
    assert_eq!(b.get(&callback).location, "/device");
    assert!(b
        .get(&format!("{issuer}/device"))
        .body
        .contains("Alice Upstream"));
    drop(up.rt);
}

#[test]
fn an_id_token_with_another_nonce_signs_nobody_in() {
    let up = upstream();
    up.op.lock().unwrap().wrong_nonce = true;
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let failed = b.get(&callback);
    assert_eq!(failed.status, 502);
    assert!(failed.body.contains("nonce"), "{}", failed.body);
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    drop(up.rt);
}

#[test]
fn a_denial_at_the_provider_is_shown_and_signs_nobody_in() {
    let up = upstream();
    up.op.lock().unwrap().deny = true;
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let stopped = b.get(&callback);
    assert_eq!(stopped.status, 400);
    assert!(
        stopped.body.contains("did not complete (access_denied)"),
        "{}",
        stopped.body
    );
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    drop(up.rt);
}

#[test]
fn an_unreachable_provider_gives_a_clear_page() {
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ServerConfig::default();
    config.sign_in = SignIn::Upstream(UpstreamSignIn::new(
        format!("http://127.0.0.1:{port}"),
        "front",
    ));
    let s = spawn(config).unwrap();
    let mut b = Browser::default();
    let page = b.get(&format!("{}/device/signin", s.issuer()));
    assert_eq!(page.status, 502);
    assert!(page.body.contains("could not be reached"), "{}", page.body);
    s.shutdown();
}
