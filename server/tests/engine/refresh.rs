//! Refresh with rotation and reuse detection (RFC 9700 §4.14.2), revocation (RFC 7009).

use deviceflow_server::engine::{TokenKind, TokenState};

use super::{error, Harness};

fn revoke(h: &mut Harness, token: &str, client: &str) -> u16 {
    let r = h.engine.handle_revocation(
        &Harness::request(&[("client_id", client), ("token", token)]),
        0,
    );
    r.status
}

#[test]
fn refresh_rotates_and_the_new_token_works() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    let rt1 = t["refresh_token"].as_str().unwrap();
    let r = h.refresh(rt1, 10_000);
    assert_eq!(r.status, 200);
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert_ne!(t["access_token"], r.body["access_token"]);
    assert_eq!(h.refresh(&rt2, 20_000).status, 200);
}

#[test]
fn reusing_a_rotated_token_revokes_the_grant() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    let rt1 = t["refresh_token"].as_str().unwrap().to_owned();
    let rt2 = h.refresh(&rt1, 10_000).body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(error(&h.refresh(&rt1, 11_000)), "invalid_grant");
    // The active token from the rotation is dead too: the whole grant is gone.
    assert_eq!(error(&h.refresh(&rt2, 12_000)), "invalid_grant");
    assert!(h
        .engine
        .store
        .tokens()
        .iter()
        .all(|t| t.state != TokenState::Active));
}

#[test]
fn refresh_may_narrow_but_not_widen_scope() {
    let mut h = Harness::new();
    let rt = h.tokens(0)["refresh_token"].as_str().unwrap().to_owned();
    let mut req = Harness::request(&[
        ("grant_type", "refresh_token"),
        ("client_id", "cli"),
        ("refresh_token", &rt),
        ("scope", "openid email"),
    ]);
    assert_eq!(
        error(&h.engine.handle_token(&req, 1, &mut h.rng)),
        "invalid_scope"
    );
    req.params = deviceflow_server::engine::Params::from_pairs([
        ("grant_type", "refresh_token"),
        ("client_id", "cli"),
        ("refresh_token", rt.as_str()),
        ("scope", "openid"),
    ]);
    let r = h.engine.handle_token(&req, 2, &mut h.rng);
    assert_eq!(r.body["scope"], "openid");
}

#[test]
fn refresh_tokens_expire_when_idle() {
    let mut h = Harness::new();
    let rt = h.tokens(0)["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(error(&h.refresh(&rt, 31 * 86_400_000)), "invalid_grant");
}

#[test]
fn an_access_token_is_not_a_refresh_token() {
    let mut h = Harness::new();
    let at = h.tokens(0)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(error(&h.refresh(&at, 10)), "invalid_grant");
}

#[test]
fn revocation_answers_200_for_unknown_tokens() {
    let mut h = Harness::new();
    assert_eq!(revoke(&mut h, "never-issued", "cli"), 200);
    let r = h
        .engine
        .handle_revocation(&Harness::request(&[("client_id", "cli")]), 0);
    assert_eq!(error(&r), "invalid_request");
}

#[test]
fn revoking_a_refresh_token_kills_the_grants_access_tokens() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    assert_eq!(
        revoke(&mut h, t["refresh_token"].as_str().unwrap(), "cli"),
        200
    );
    let tokens = h.engine.store.tokens();
    assert!(
        tokens.iter().all(|t| t.state == TokenState::Revoked),
        "{tokens:?}"
    );
}

#[test]
fn revoking_an_access_token_leaves_the_refresh_token() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    assert_eq!(
        revoke(&mut h, t["access_token"].as_str().unwrap(), "cli"),
        200
    );
    for tok in h.engine.store.tokens() {
        let want = match tok.kind {
            TokenKind::Access => TokenState::Revoked,
            TokenKind::Refresh => TokenState::Active,
        };
        assert_eq!(tok.state, want);
    }
}

#[test]
fn another_client_cannot_revoke_my_tokens() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    let r = h.engine.handle_revocation(
        &Harness::request(&[
            ("client_id", "post"),
            ("client_secret", "post-secret"),
            ("token", t["refresh_token"].as_str().unwrap()),
        ]),
        0,
    );
    assert_eq!(r.status, 200);
    assert!(h
        .engine
        .store
        .tokens()
        .iter()
        .all(|t| t.state == TokenState::Active));
}

#[test]
fn userinfo_names_who_approved_until_revoked() {
    let mut h = Harness::new();
    let t = h.tokens(0);
    let at = t["access_token"].as_str().unwrap();
    let r = h
        .engine
        .handle_userinfo(Some(&format!("Bearer {at}")), 6_000);
    assert_eq!(
        (r.status, &r.body["sub"]),
        (200, &serde_json::json!("alice"))
    );
    assert_eq!(h.engine.handle_userinfo(None, 6_000).status, 401);
    assert_eq!(
        h.engine.handle_userinfo(Some("Bearer nope"), 6_000).status,
        401
    );
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(
        h.engine
            .handle_userinfo(Some(&format!("Bearer {rt}")), 6_000)
            .status,
        401
    );
    assert_eq!(
        h.engine
            .handle_userinfo(Some(&format!("Bearer {at}")), 4_000_000)
            .status,
        401
    );
    assert_eq!(revoke(&mut h, rt, "cli"), 200);
    assert_eq!(
        h.engine
            .handle_userinfo(Some(&format!("Bearer {at}")), 6_000)
            .status,
        401
    );
}
