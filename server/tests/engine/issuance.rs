//! Rate limits on issuing device codes: per source and per client, fixed windows, HTTP 429 with
//! `Retry-After` and no OAuth `error` (a client retries it instead of failing the login).

use deviceflow_server::engine::{
    ClientRequest, EngineConfig, IssuanceLimits, Params, Response, Store,
};
use deviceflow_server::store::SqliteStore;

use super::{error, Harness};

const T0: i64 = 1_200_000; // a window starts here (a multiple of 60 s)

fn authorize<S: Store>(
    h: &mut Harness<S>,
    pairs: &[(&str, &str)],
    source: &str,
    at: i64,
) -> Response {
    let req = ClientRequest {
        params: Params::from_pairs(pairs.iter().copied()),
        authorization: None,
        source: source.into(),
    };
    h.engine.handle_device_authorization(&req, at, &mut h.rng)
}

fn cli<S: Store>(h: &mut Harness<S>, source: &str, at: i64) -> Response {
    authorize(h, &[("client_id", "cli")], source, at)
}

fn assert_rate_limited(r: &Response, retry_after_s: u64) {
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.retry_after_s, Some(retry_after_s));
    assert!(r.body.get("error").is_none(), "no OAuth error: {}", r.body);
    assert!(r.body["error_description"].is_string());
    assert!(r.body.get("device_code").is_none());
}

fn per_source<S: Store>(mut h: Harness<S>) {
    for i in 0..60 {
        assert_eq!(cli(&mut h, "198.51.100.0/24", T0 + i * 900).status, 200);
    }
    let r = cli(&mut h, "198.51.100.0/24", T0 + 54_000);
    assert_rate_limited(&r, 6);
    assert_rate_limited(&cli(&mut h, "198.51.100.0/24", T0 + 59_999), 1);
    assert!((1..=60).contains(&r.retry_after_s.unwrap()));
    // Another source is not affected, and the window rolls over.
    assert_eq!(cli(&mut h, "203.0.113.0/24", T0 + 59_999).status, 200);
    assert_eq!(cli(&mut h, "198.51.100.0/24", T0 + 60_000).status, 200);
}

#[test]
fn the_61st_authorization_from_one_source_in_a_minute_gets_429() {
    per_source(Harness::new());
    per_source(Harness::with_store(SqliteStore::in_memory().unwrap()));
}

fn per_client<S: Store>(mut h: Harness<S>) {
    h.engine.config.issuance.per_client = 5;
    h.engine.config.issuance.per_source = 2;
    // Two from one source, then ten refused for that source: those don't count for the client.
    for i in 0..12 {
        let r = cli(&mut h, "a", T0 + i);
        assert_eq!(r.status, if i < 2 { 200 } else { 429 });
    }
    for (i, source) in ["b", "c", "d"].into_iter().enumerate() {
        assert_eq!(cli(&mut h, source, T0 + 100 + i as i64).status, 200);
    }
    assert_rate_limited(&cli(&mut h, "e", T0 + 30_000), 30);
    // Another client is not affected, and the next window is open again.
    let post = [("client_id", "post"), ("client_secret", "post-secret")];
    assert_eq!(authorize(&mut h, &post, "e", T0 + 30_000).status, 200);
    assert_eq!(cli(&mut h, "e", T0 + 60_000).status, 200);
}

#[test]
fn a_client_over_its_limit_gets_429_from_every_source() {
    per_client(Harness::new());
    per_client(Harness::with_store(SqliteStore::in_memory().unwrap()));
}

#[test]
fn only_requests_that_pass_authentication_and_scope_checks_count() {
    let mut h = Harness::new();
    for i in 0..100 {
        let bad_secret = [("client_id", "post"), ("client_secret", "wrong")];
        assert_eq!(authorize(&mut h, &bad_secret, "a", T0 + i).status, 401);
        let bad_scope = [("client_id", "cli"), ("scope", "admin")];
        let r = authorize(&mut h, &bad_scope, "a", T0 + i);
        assert_eq!(error(&r), "invalid_scope");
        let no_grant = [("client_id", "no-device")];
        assert_eq!(
            error(&authorize(&mut h, &no_grant, "a", T0 + i)),
            "unauthorized_client"
        );
    }
    for i in 0..60 {
        assert_eq!(cli(&mut h, "a", T0 + 1_000 + i).status, 200);
    }
    assert_eq!(cli(&mut h, "a", T0 + 2_000).status, 429);
}

#[test]
fn the_defaults() {
    let limits = IssuanceLimits::default();
    assert_eq!(
        (limits.window_ms, limits.per_source, limits.per_client),
        (60_000, 60, 6_000)
    );
    let config = EngineConfig::new("https://as.example", [0; 32]);
    assert_eq!(config.issuance, limits);
    assert_eq!(config.redeem_grace_ms, 60_000);
    // Other answers carry no Retry-After.
    let mut h = Harness::new();
    assert_eq!(cli(&mut h, "a", 0).retry_after_s, None);
    let r = authorize(&mut h, &[("client_id", "nobody")], "a", 0);
    assert_eq!((r.status, r.retry_after_s), (401, None));
}
