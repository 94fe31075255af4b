//! Client authentication (RFC 6749 §2.3.1) and per-client grant and scope rules.

use base64::Engine as _;
use deviceflow_server::engine::Entrant;
use deviceflow_server::engine::{ClientRequest, Params};

use super::{error, Harness};

fn with_basic(pairs: &[(&str, &str)], user: &str, pass: &str) -> ClientRequest {
    let mut req = Harness::request(pairs);
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    req.authorization = Some(format!("Basic {creds}"));
    req
}

#[test]
fn basic_and_post_clients_authenticate() {
    let mut h = Harness::new();
    let req = with_basic(&[], "basic", "basic-secret");
    assert_eq!(
        h.engine
            .handle_device_authorization(&req, 0, &mut h.rng)
            .status,
        200
    );
    let req = Harness::request(&[("client_id", "post"), ("client_secret", "post-secret")]);
    assert_eq!(
        h.engine
            .handle_device_authorization(&req, 0, &mut h.rng)
            .status,
        200
    );
}

#[test]
fn wrong_or_missing_credentials_are_invalid_client_401() {
    let mut h = Harness::new();
    let cases = [
        with_basic(&[], "basic", "wrong"),
        with_basic(&[], "nobody", "x"),
        Harness::request(&[("client_id", "basic")]),
        Harness::request(&[("client_id", "post"), ("client_secret", "nope")]),
        // Right secret, wrong method: basic client posting its secret in the body.
        Harness::request(&[("client_id", "basic"), ("client_secret", "basic-secret")]),
        // A public client sending a secret.
        Harness::request(&[("client_id", "cli"), ("client_secret", "x")]),
        Harness::request(&[]),
        with_basic(
            &[("client_id", "post"), ("client_secret", "post-secret")],
            "basic",
            "basic-secret",
        ),
    ];
    for req in cases {
        let r = h.engine.handle_device_authorization(&req, 0, &mut h.rng);
        assert_eq!((r.status, error(&r)), (401, "invalid_client"), "{req:?}");
    }
    let mut req = Harness::request(&[]);
    req.authorization = Some("Basic !!!not-base64".into());
    assert_eq!(
        h.engine
            .handle_device_authorization(&req, 0, &mut h.rng)
            .status,
        401
    );
}

#[test]
fn percent_encoded_basic_credentials_are_decoded() {
    let mut h = Harness::new();
    let mut reg = super::clients();
    reg.insert(deviceflow_server::engine::Client::confidential(
        "odd id",
        "Odd",
        deviceflow_server::engine::AuthMethod::ClientSecretBasic,
        "p:ss&w%rd",
        &["openid"],
    ));
    h.engine.clients = reg;
    let req = with_basic(&[], "odd+id", "p%3Ass%26w%25rd");
    assert_eq!(
        h.engine
            .handle_device_authorization(&req, 0, &mut h.rng)
            .status,
        200
    );
}

#[test]
fn device_grant_must_be_enabled_for_the_client() {
    let mut h = Harness::new();
    let r = h.engine.handle_device_authorization(
        &Harness::request(&[("client_id", "no-device")]),
        0,
        &mut h.rng,
    );
    assert_eq!(error(&r), "unauthorized_client");
}

#[test]
fn scopes_are_limited_per_client() {
    let mut h = Harness::new();
    let req = Harness::request(&[("client_id", "cli"), ("scope", "openid admin")]);
    assert_eq!(
        error(&h.engine.handle_device_authorization(&req, 0, &mut h.rng)),
        "invalid_scope"
    );
    let req = Harness::request(&[("client_id", "cli"), ("scope", "openid openid profile")]);
    let r = h.engine.handle_device_authorization(&req, 0, &mut h.rng);
    assert_eq!(r.status, 200);
    let p = h
        .engine
        .handle_user_code(
            r.body["user_code"].as_str().unwrap(),
            &Entrant::new("s", "s"),
            1,
        )
        .unwrap();
    assert_eq!(p.scopes, ["openid", "profile"]);
}

#[test]
fn repeated_parameters_are_rejected() {
    let err = Params::parse(b"client_id=a&client_id=b").unwrap_err();
    assert_eq!(err.code, "invalid_request");
    let p = Params::parse(b"a=1&b=&c=x%20y").unwrap();
    assert_eq!(p.get("b"), None, "empty counts as absent");
    assert_eq!(p.get("c"), Some("x y"));
}

#[test]
fn garbage_input_never_panics() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let mut rng = super::TestRng(77);
    let names = [
        "grant_type",
        "client_id",
        "client_secret",
        "device_code",
        "refresh_token",
        "scope",
        "token",
    ];
    let values = [
        "",
        "cli",
        "basic",
        "refresh_token",
        deviceflow_server::engine::DEVICE_CODE_GRANT,
        "\u{0}\u{7f}",
        "%%%",
        "é漢字",
        "openid openid",
        " ",
        a.device_code.as_str(),
    ];
    for _ in 0..3_000 {
        let mut bytes = [0u8; 8];
        deviceflow_server::engine::Random::fill(&mut rng, &mut bytes);
        let pairs: Vec<(&str, &str)> = bytes
            .chunks(2)
            .map(|c| {
                (
                    names[c[0] as usize % names.len()],
                    values[c[1] as usize % values.len()],
                )
            })
            .collect();
        let mut pairs_dedup = pairs.clone();
        pairs_dedup.dedup_by_key(|p| p.0);
        let mut req = Harness::request(&pairs_dedup);
        if bytes[0] % 3 == 0 {
            req.authorization = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        let now = i64::from(bytes[1]) * 1_000;
        let _ = h.engine.handle_token(&req, now, &mut rng);
        let _ = h.engine.handle_revocation(&req, now);
        let _ = h.engine.handle_device_authorization(&req, now, &mut rng);
        let _ = h.engine.handle_user_code(
            &String::from_utf8_lossy(&bytes),
            &Entrant::new("fuzz", "fuzz"),
            now,
        );
        let _ = h.engine.handle_userinfo(req.authorization.as_deref(), now);
        let _ = Params::parse(&bytes);
    }
}
