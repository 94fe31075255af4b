//! JWT access tokens (RFC 9068), the rotation of their signing keys, and introspection
//! (RFC 7662), on a fake clock. Tokens are checked with the JOSE library the way a resource
//! server would: against the published JWK Set, never against the engine's own code.

use std::sync::Arc;

use deviceflow_server::engine::{
    AccessTokenFormat, AuthMethod, Client, ClientRegistry, Engine, EngineConfig, KeyRotation,
    Response, SigningKeyRecord, Store, DEVICE_CODE_GRANT,
};
use deviceflow_server::store::{MemoryStore, SqliteStore};
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use super::{error, request, Harness, TempDir, TestRng};

const ISSUER: &str = "http://127.0.0.1:9";
const API: &str = "https://api.example.test";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const ROTATION: i64 = 30 * DAY;
/// A plausible Unix time (2023-11-14), so token times read like times.
const T0: i64 = 1_700_000_000_000;

fn registry() -> ClientRegistry {
    let scopes = ["openid", "profile", "offline_access"];
    let jwt = |id: &str, audience: Option<&str>| {
        let mut c = Client::public(id, id, &scopes);
        c.access_token_format = AccessTokenFormat::Jwt;
        c.audience = audience.map(str::to_owned);
        c
    };
    let mut rs = Client::confidential(
        "rs",
        "Resource server",
        AuthMethod::ClientSecretPost,
        "rs-secret",
        &[],
    );
    rs.introspection = true;
    let not_rs = Client::confidential(
        "not-rs",
        "Confidential, not a resource server",
        AuthMethod::ClientSecretPost,
        "not-rs-secret",
        &[],
    );
    let mut public_rs = Client::public("public-rs", "Public, flagged", &[]);
    public_rs.introspection = true;
    ClientRegistry::new([
        Client::public("cli", "Opaque tokens", &scopes),
        jwt("jwt-app", None),
        jwt("api-app", Some(API)),
        rs,
        not_rs,
        public_rs,
    ])
}

fn harness<S: Store>(store: S) -> Harness<S> {
    Harness {
        engine: Engine::new(EngineConfig::new(ISSUER, [7; 32]), registry(), store),
        rng: TestRng(0),
    }
}

/// On the default harness store: memory, SQLite and PostgreSQL mirrored (`mirror.rs`).
fn memory() -> Harness {
    harness(super::mirror::Mirror::new())
}

/// Device authorization for `client_id` at `now`, approved by alice 1 s later, redeemed 5 s
/// later: the token response.
fn login<S: Store>(h: &mut Harness<S>, client_id: &str, now: i64) -> Value {
    let r = h.engine.handle_device_authorization(
        &request(&[("client_id", client_id)]),
        now,
        &mut h.rng,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let user_code = r.body["user_code"].as_str().unwrap().to_owned();
    let device_code = r.body["device_code"].as_str().unwrap().to_owned();
    h.decide(&user_code, true, now + 1_000);
    let poll = request(&[
        ("grant_type", DEVICE_CODE_GRANT),
        ("client_id", client_id),
        ("device_code", &device_code),
    ]);
    let t = h.engine.handle_token(&poll, now + 5_000, &mut h.rng);
    assert_eq!(t.status, 200, "{:?}", t.body);
    t.body
}

fn access(t: &Value) -> String {
    t["access_token"].as_str().unwrap().to_owned()
}

fn rotate<S: Store>(h: &mut Harness<S>, now: i64) -> KeyRotation {
    h.engine.handle_key_rotation(now, &mut h.rng).unwrap()
}

fn jwks<S: Store>(h: &Harness<S>, now: i64) -> JwkSet {
    let r = h.engine.handle_jwks(now);
    assert_eq!(r.status, 200);
    serde_json::from_value(r.body).unwrap()
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect()
}

/// What a resource server does with a JWT: find the key by `kid` in the JWK Set and check the
/// signature, `alg`, `typ`, `iss`, `aud` (and that `exp` is present: its check against the fake
/// clock is the caller's).
fn verify(set: &JwkSet, token: &str, audience: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(format!("typ {:?}", header.typ));
    }
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or_else(|| format!("unknown kid {kid}"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = false;
    decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

fn introspect<S: Store>(h: &Harness<S>, token: &str, now: i64) -> Response {
    h.engine.handle_introspection(
        &request(&[
            ("client_id", "rs"),
            ("client_secret", "rs-secret"),
            ("token", token),
        ]),
        now,
    )
}

#[test]
fn a_jwt_access_token_has_the_rfc_9068_header_and_claims() {
    let mut h = memory();
    let k = rotate(&mut h, T0);
    assert!(k.created);
    let t = login(&mut h, "jwt-app", T0 + 10_000);
    let at = access(&t);
    let header = decode_header(&at).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), Some(k.signing_kid.as_str()));

    let claims = verify(&jwks(&h, T0 + 15_000), &at, ISSUER).unwrap();
    let iat = (T0 + 15_000) / 1000;
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], ISSUER, "no audience configured: the issuer");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "jwt-app");
    assert_eq!(claims["scope"], "openid profile offline_access");
    assert_eq!(claims["iat"], iat);
    assert_eq!(claims["exp"], iat + 3_600);
    assert_eq!(t["expires_in"], 3_600);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22, "128 bits");
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["refresh_token"]
        .as_str()
        .is_some_and(|r| !r.contains('.')));
}

#[test]
fn a_configured_audience_is_the_aud_and_no_other_audience_verifies() {
    let mut h = memory();
    let at = access(&login(&mut h, "api-app", T0));
    let set = jwks(&h, T0 + 5_000);
    assert_eq!(verify(&set, &at, API).unwrap()["aud"], API);
    let err = verify(&set, &at, ISSUER).unwrap_err();
    assert!(err.contains("InvalidAudience"), "{err}");
}

#[test]
fn each_jwt_has_its_own_jti_and_a_refresh_signs_a_new_one() {
    let mut h = memory();
    let first = login(&mut h, "jwt-app", T0);
    let second = login(&mut h, "jwt-app", T0 + 60_000);
    let refresh = request(&[
        ("grant_type", "refresh_token"),
        ("client_id", "jwt-app"),
        ("refresh_token", first["refresh_token"].as_str().unwrap()),
    ]);
    let refreshed = h.engine.handle_token(&refresh, T0 + 120_000, &mut h.rng);
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let set = jwks(&h, T0 + 120_000);
    let jtis: Vec<Value> = [&first, &second, &refreshed.body]
        .iter()
        .map(|t| verify(&set, &access(t), ISSUER).unwrap()["jti"].clone())
        .collect();
    assert_ne!(jtis[0], jtis[1]);
    assert_ne!(jtis[1], jtis[2]);
    assert_ne!(jtis[0], jtis[2]);
}

#[test]
fn opaque_clients_still_get_opaque_tokens() {
    let mut h = memory();
    let at = access(&login(&mut h, "cli", T0));
    assert_eq!(at.len(), 43, "256 bits, base64url");
    assert!(!at.contains('.'));
    assert!(decode_header(&at).is_err());
}

#[test]
fn the_jwks_publishes_public_keys_only_and_the_kid_is_the_thumbprint() {
    let mut h = memory();
    let k = rotate(&mut h, T0);
    let body = h.engine.handle_jwks(T0).body;
    let key = &body["keys"][0];
    assert_eq!(body["keys"].as_array().unwrap().len(), 1);
    for (member, value) in [
        ("kty", "EC"),
        ("crv", "P-256"),
        ("alg", "ES256"),
        ("use", "sig"),
    ] {
        assert_eq!(key[member], value, "{member}");
    }
    assert_eq!(key["kid"], k.signing_kid.as_str());
    assert!(
        key.get("d").is_none(),
        "the private part is never published"
    );
    let set: JwkSet = serde_json::from_value(body).unwrap();
    assert_eq!(
        set.keys[0].thumbprint(ThumbprintHash::SHA256).unwrap(),
        k.signing_kid
    );
}

#[test]
fn a_signing_key_never_shows_its_private_part_in_debug() {
    let mut h = memory();
    rotate(&mut h, T0);
    let keys = h.engine.store.signing_keys().unwrap();
    assert_eq!(keys.len(), 1);
    let private = format!("{:?}", keys[0].private_key);
    let debug = format!("{keys:?}");
    assert!(!debug.contains(&private[1..private.len() - 1]), "{debug}");
    assert!(debug.contains("<redacted>") && debug.contains(&keys[0].kid));
}

/// Rotation on a fake clock, on any store: published, rotated after the period, the previous
/// key still published until retirement (rotation + access token lifetime), then gone; a token
/// it signed verifies until then.
fn keys_rotate_and_retire<S: Store>(mut h: Harness<S>) {
    let first = rotate(&mut h, T0);
    assert!(first.created && first.dropped.is_empty());
    assert_eq!(kids(&jwks(&h, T0)), [first.signing_kid.as_str()]);

    let early = rotate(&mut h, T0 + ROTATION - 1);
    assert!(!early.created, "not due yet");
    assert_eq!(early.signing_kid, first.signing_kid);

    // A token signed by the first key just before the rotation.
    let old_token = access(&login(&mut h, "jwt-app", T0 + ROTATION - 10_000));
    assert_eq!(kid_of(&old_token), first.signing_kid);
    let old_exp = verify(&jwks(&h, T0 + ROTATION - 5_000), &old_token, ISSUER).unwrap()["exp"]
        .as_i64()
        .unwrap();

    let rotated_at = T0 + ROTATION;
    let second = rotate(&mut h, rotated_at);
    assert!(second.created && second.dropped.is_empty());
    assert_ne!(second.signing_kid, first.signing_kid);
    assert_eq!(
        kids(&jwks(&h, rotated_at)),
        [first.signing_kid.clone(), second.signing_kid.clone()]
    );
    let new_token = access(&login(&mut h, "jwt-app", rotated_at + 1_000));
    assert_eq!(kid_of(&new_token), second.signing_kid, "the new key signs");

    // The old token verifies against what is published for as long as it lives.
    let retirement = rotated_at + HOUR;
    assert!(old_exp * 1000 <= retirement);
    let last_moment = old_exp * 1000 - 1;
    assert!(verify(&jwks(&h, last_moment), &old_token, ISSUER).is_ok());
    let before = rotate(&mut h, retirement - 1);
    assert!(!before.created && before.dropped.is_empty());
    assert_eq!(jwks(&h, retirement - 1).keys.len(), 2);

    // Retired: out of the JWK Set at once, out of the store at the next rotation call.
    assert_eq!(kids(&jwks(&h, retirement)), [second.signing_kid.as_str()]);
    let after = rotate(&mut h, retirement);
    assert_eq!(after.dropped, [first.signing_kid.as_str()]);
    assert_eq!(after.signing_kid, second.signing_kid);
    assert_eq!(h.engine.store.signing_keys().unwrap().len(), 1);
    let err = verify(&jwks(&h, retirement), &old_token, ISSUER).unwrap_err();
    assert!(err.contains("unknown kid"), "{err}");
    assert!(verify(&jwks(&h, retirement), &new_token, ISSUER).is_ok());
}

#[test]
fn keys_rotate_and_retire_in_memory() {
    keys_rotate_and_retire(memory());
}

#[test]
fn keys_rotate_and_retire_on_sqlite() {
    keys_rotate_and_retire(harness(SqliteStore::in_memory().unwrap()));
}

#[test]
fn an_overdue_key_never_signs_even_without_the_periodic_call() {
    let mut h = memory();
    let first = rotate(&mut h, T0);
    let t = login(&mut h, "jwt-app", T0 + ROTATION + DAY);
    let kid = kid_of(&access(&t));
    assert_ne!(kid, first.signing_kid);
    assert_eq!(
        kids(&jwks(&h, T0 + ROTATION + DAY)),
        [first.signing_kid, kid]
    );
}

#[test]
fn the_first_token_makes_the_first_key_if_there_is_none() {
    let mut h = memory();
    assert!(jwks(&h, T0).keys.is_empty());
    let at = access(&login(&mut h, "jwt-app", T0));
    assert!(verify(&jwks(&h, T0 + 5_000), &at, ISSUER).is_ok());
}

#[test]
fn retirement_waits_for_the_longest_access_token_lifetime_of_any_client() {
    let mut clients: Vec<Client> = registry().iter().cloned().collect();
    let mut long = Client::public("long", "Long-lived tokens", &["openid"]);
    long.access_token_ttl_ms = Some(2 * HOUR);
    clients.push(long);
    let mut h = Harness {
        engine: Engine::new(
            EngineConfig::new(ISSUER, [7; 32]),
            ClientRegistry::new(clients),
            Arc::new(MemoryStore::new()),
        ),
        rng: TestRng(0),
    };
    rotate(&mut h, T0);
    rotate(&mut h, T0 + ROTATION);
    assert_eq!(jwks(&h, T0 + ROTATION + HOUR).keys.len(), 2);
    assert_eq!(jwks(&h, T0 + ROTATION + 2 * HOUR - 1).keys.len(), 2);
    assert_eq!(jwks(&h, T0 + ROTATION + 2 * HOUR).keys.len(), 1);
}

/// Two engines on one store (two processes): whoever inserts a generation first wins, and both
/// sign with and publish the same keys.
fn processes_share_keys<S: Store>(a: S, b: S) {
    let mut a = harness(a);
    let mut b = harness(b);
    b.rng = TestRng(1_000_000); // different randomness: a second key would differ
    let ka = rotate(&mut a, T0);
    let kb = rotate(&mut b, T0);
    assert!(ka.created && !kb.created);
    assert_eq!(ka.signing_kid, kb.signing_kid);

    // Both due at once: one new key.
    let ka = rotate(&mut a, T0 + ROTATION);
    let kb = rotate(&mut b, T0 + ROTATION);
    assert!(ka.created && !kb.created);
    assert_eq!(ka.signing_kid, kb.signing_kid);
    assert_eq!(
        kids(&jwks(&a, T0 + ROTATION)),
        kids(&jwks(&b, T0 + ROTATION))
    );
    let token = access(&login(&mut b, "jwt-app", T0 + ROTATION));
    assert_eq!(kid_of(&token), ka.signing_kid);
    assert!(verify(&jwks(&a, T0 + ROTATION + 5_000), &token, ISSUER).is_ok());
}

#[test]
fn processes_on_one_memory_store_share_keys() {
    let store = Arc::new(MemoryStore::new());
    processes_share_keys(store.clone(), store);
}

#[test]
fn processes_on_one_sqlite_file_share_keys() {
    let dir = TempDir::new("jwt-keys");
    let path = dir.path().join("db.sqlite");
    processes_share_keys(
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    // And after a restart the keys are still there.
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.signing_keys().unwrap().len(), 2);
}

#[test]
fn a_taken_generation_is_not_overwritten() {
    for store in [
        Arc::new(MemoryStore::new()) as Arc<dyn Store>,
        Arc::new(SqliteStore::in_memory().unwrap()),
    ] {
        let key = |kid: &str, byte: u8| SigningKeyRecord {
            generation: 0,
            kid: kid.into(),
            created_at_ms: T0,
            private_key: vec![byte; 8],
        };
        assert!(store.insert_signing_key(&key("first", 1)).unwrap());
        assert!(!store.insert_signing_key(&key("second", 2)).unwrap());
        assert_eq!(store.signing_keys().unwrap(), [key("first", 1)]);
        store.delete_signing_key(0).unwrap();
        assert!(store.signing_keys().unwrap().is_empty());
    }
}

#[test]
fn introspection_describes_active_access_tokens_opaque_and_jwt() {
    let mut h = memory();
    let opaque = access(&login(&mut h, "cli", T0));
    let r = introspect(&h, &opaque, T0 + 6_000);
    assert_eq!(r.status, 200);
    let iat = (T0 + 5_000) / 1000;
    assert_eq!(
        r.body,
        json!({
            "active": true,
            "scope": "openid profile offline_access",
            "client_id": "cli",
            "sub": "alice",
            "token_type": "Bearer",
            "exp": iat + 3_600,
            "iat": iat,
            "iss": ISSUER,
            "aud": ISSUER,
        })
    );

    let jwt = access(&login(&mut h, "api-app", T0 + 10_000));
    let claims = verify(&jwks(&h, T0 + 15_000), &jwt, API).unwrap();
    let r = introspect(&h, &jwt, T0 + 16_000);
    assert_eq!(r.body["active"], true);
    for claim in ["sub", "client_id", "scope", "exp", "iat", "iss", "aud"] {
        assert_eq!(r.body[claim], claims[claim], "{claim}");
    }
}

#[test]
fn introspection_says_only_inactive_for_unknown_expired_revoked_rotated_and_refresh_tokens() {
    let mut h = memory();
    let inactive = json!({ "active": false });
    let t = login(&mut h, "jwt-app", T0);
    let (at, rt) = (access(&t), t["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(introspect(&h, &at, T0 + 6_000).body["active"], true);
    assert_eq!(introspect(&h, "no-such-token", T0).body, inactive);
    assert_eq!(
        introspect(&h, &rt, T0 + 6_000).body,
        inactive,
        "a refresh token is never good at a resource server"
    );
    assert_eq!(introspect(&h, &at, T0 + 5_000 + HOUR).body, inactive);

    // Rotated: the old refresh token is inactive, the old access token lives on until it expires.
    let refresh = request(&[
        ("grant_type", "refresh_token"),
        ("client_id", "jwt-app"),
        ("refresh_token", &rt),
    ]);
    let r = h.engine.handle_token(&refresh, T0 + 60_000, &mut h.rng);
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&h, &rt, T0 + 61_000).body, inactive);
    assert_eq!(introspect(&h, &at, T0 + 61_000).body["active"], true);

    // Revoked.
    let revoke = request(&[("client_id", "jwt-app"), ("token", &access(&r.body))]);
    assert_eq!(h.engine.handle_revocation(&revoke, T0 + 62_000).status, 200);
    assert_eq!(introspect(&h, &access(&r.body), T0 + 63_000).body, inactive);
}

#[test]
fn only_a_confidential_client_marked_as_a_resource_server_may_introspect() {
    let mut h = memory();
    let at = access(&login(&mut h, "cli", T0));
    let ask = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        pairs.push(("token", &at));
        h.engine.handle_introspection(&request(&pairs), T0 + 6_000)
    };
    let r = ask(&[]);
    assert_eq!((r.status, error(&r)), (401, "invalid_client"));
    let r = ask(&[("client_id", "rs"), ("client_secret", "wrong")]);
    assert_eq!((r.status, error(&r)), (401, "invalid_client"));
    let r = ask(&[("client_id", "public-rs")]);
    assert_eq!((r.status, error(&r)), (401, "invalid_client"), "public");
    let r = ask(&[("client_id", "cli")]);
    assert_eq!((r.status, error(&r)), (401, "invalid_client"), "public");
    let r = ask(&[("client_id", "not-rs"), ("client_secret", "not-rs-secret")]);
    assert_eq!((r.status, error(&r)), (400, "unauthorized_client"));
    let r = ask(&[("client_id", "rs"), ("client_secret", "rs-secret")]);
    assert_eq!((r.status, &r.body["active"]), (200, &json!(true)));
    let r = h.engine.handle_introspection(
        &request(&[("client_id", "rs"), ("client_secret", "rs-secret")]),
        T0,
    );
    assert_eq!((r.status, error(&r)), (400, "invalid_request"));
}

#[test]
fn a_revoked_jwt_is_inactive_and_refused_by_userinfo_yet_still_verifies_offline() {
    let mut h = memory();
    let at = access(&login(&mut h, "jwt-app", T0));
    let bearer = format!("Bearer {at}");
    let u = h.engine.handle_userinfo(Some(&bearer), T0 + 6_000);
    assert_eq!((u.status, &u.body["sub"]), (200, &json!("alice")));

    let revoke = request(&[("client_id", "jwt-app"), ("token", &at)]);
    assert_eq!(h.engine.handle_revocation(&revoke, T0 + 7_000).status, 200);
    assert_eq!(
        introspect(&h, &at, T0 + 8_000).body,
        json!({ "active": false })
    );
    assert_eq!(
        h.engine.handle_userinfo(Some(&bearer), T0 + 8_000).status,
        401
    );
    // The signature does not know: an offline verifier accepts it until `exp`.
    assert!(verify(&jwks(&h, T0 + 8_000), &at, ISSUER).is_ok());
}

#[test]
fn a_lost_token_response_gives_back_the_same_jwt() {
    let mut h = memory();
    let r =
        h.engine
            .handle_device_authorization(&request(&[("client_id", "jwt-app")]), T0, &mut h.rng);
    let user_code = r.body["user_code"].as_str().unwrap().to_owned();
    let device_code = r.body["device_code"].as_str().unwrap().to_owned();
    h.decide(&user_code, true, T0 + 1_000);
    let poll = request(&[
        ("grant_type", DEVICE_CODE_GRANT),
        ("client_id", "jwt-app"),
        ("device_code", &device_code),
    ]);
    let first = h.engine.handle_token(&poll, T0 + 5_000, &mut h.rng);
    let again = h.engine.handle_token(&poll, T0 + 10_000, &mut h.rng);
    assert_eq!(first.status, 200);
    assert_eq!(again.body["access_token"], first.body["access_token"]);
    assert_eq!(
        introspect(&h, &access(&again.body), T0 + 11_000).body["active"],
        true
    );
}

#[test]
fn the_metadata_names_the_jwks_and_the_introspection_endpoint() {
    let m = memory().engine.metadata();
    assert_eq!(m["jwks_uri"], format!("{ISSUER}/jwks"));
    assert_eq!(m["introspection_endpoint"], format!("{ISSUER}/introspect"));
    assert_eq!(
        m["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}
