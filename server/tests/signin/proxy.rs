//! Behind an authenticating proxy: the header, believed only from trusted proxies.

use super::*;
use raw_http::form;

/// One HTTP/1.1 exchange from source address `from`: (status, Set-Cookie pair, body).
fn raw(
    from: IpAddr,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>, String) {
    let r = raw_http::http(from, to, method, path, headers, body);
    (r.status, r.cookie, r.body)
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
