//! A resource server (an API) accepting the server's access tokens, over real loopback HTTP:
//! it verifies JWT access tokens offline against `/jwks` (RFC 9068 §4) and asks `/introspect`
//! about opaque ones (RFC 7662). After revocation (RFC 7009) introspection says `active: false`
//! for both, while the JWT still verifies cryptographically: an offline verifier cannot see a
//! revocation before `exp`, which is why access tokens are short-lived and introspection exists.

use std::time::Duration;

use deviceflow_server::engine::{AccessTokenFormat, AuthMethod, Client};
use deviceflow_server::{approve_via_page, spawn, Decision, ServerConfig, ServerHandle};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const API: &str = "https://api.example.test";
const SCOPES: [&str; 2] = ["openid", "profile"];

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn read(mut r: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn get(url: &str) -> (u16, Value) {
    read(agent().get(url).call().unwrap())
}

fn post(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    read(agent().post(url).send_form(form.iter().copied()).unwrap())
}

/// A server with a JWT client (its tokens addressed to the API), an opaque-token client, and
/// the API as a confidential client allowed to introspect.
fn server() -> ServerHandle {
    let mut config = ServerConfig::default();
    let mut jwt_app = Client::public("jwt-app", "JWT app", &SCOPES);
    jwt_app.access_token_format = AccessTokenFormat::Jwt;
    jwt_app.audience = Some(API.into());
    let opaque_app = Client::public("opaque-app", "Opaque app", &SCOPES);
    let mut api = Client::confidential(
        "api",
        "The API",
        AuthMethod::ClientSecretBasic,
        "api-secret",
        &[],
    );
    api.device_grant = false;
    api.introspection = true;
    config.clients = vec![jwt_app, opaque_app, api];
    spawn(config).unwrap()
}

/// A device login as `client_id`, approved by alice through the real pages: the token response.
fn login(s: &ServerHandle, client_id: &str) -> Value {
    let issuer = s.issuer();
    let (status, device) = post(
        &format!("{issuer}/device_authorization"),
        &[("client_id", client_id)],
    );
    assert_eq!(status, 200, "{device}");
    let user_code = device["user_code"].as_str().unwrap();
    let decision = approve_via_page(issuer, user_code, "alice", true).unwrap();
    assert_eq!(decision, Decision::Approved);
    let (status, tokens) = post(
        &format!("{issuer}/token"),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", device["device_code"].as_str().unwrap()),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The resource server, written as a separate party would: it knows the issuer, its own
/// audience and its own credentials, and learns the rest from the metadata over HTTP. Nothing of
/// the authorization server's code is used, only the JOSE library and HTTP.
struct ResourceServer {
    issuer: String,
    audience: String,
    jwks_uri: String,
    introspection_endpoint: String,
    credentials: (&'static str, &'static str),
}

impl ResourceServer {
    fn discover(issuer: &str, audience: &str) -> Self {
        let (status, m) = get(&format!("{issuer}/.well-known/oauth-authorization-server"));
        assert_eq!(status, 200);
        let endpoint = |name: &str| m[name].as_str().unwrap().to_owned();
        ResourceServer {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_uri: endpoint("jwks_uri"),
            introspection_endpoint: endpoint("introspection_endpoint"),
            credentials: ("api", "api-secret"),
        }
    }

    /// RFC 9068 §4: `typ` is `at+jwt`, the signature checks under the key the JWK Set publishes
    /// for its `kid` (ES256 only: never the algorithm the token asks for), and `iss`, `aud` and
    /// `exp` hold (with the library's default 60 s leeway). Returns the claims.
    fn verify_jwt(&self, token: &str) -> Result<Value, String> {
        let header = decode_header(token).map_err(|e| format!("not a JWT: {e}"))?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(format!("typ {:?} is not at+jwt", header.typ));
        }
        let (status, body) = get(&self.jwks_uri);
        assert_eq!(status, 200);
        let set: JwkSet = serde_json::from_value(body).map_err(|e| e.to_string())?;
        let kid = header.kid.ok_or("no kid")?;
        let jwk = set.find(&kid).ok_or_else(|| format!("unknown kid {kid}"))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        decode::<Value>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }

    /// RFC 7662 §2.1, authenticated with HTTP Basic.
    fn introspect(&self, token: &str) -> (u16, Value) {
        self.introspect_as(self.credentials, token)
    }

    fn introspect_as(&self, (id, secret): (&str, &str), token: &str) -> (u16, Value) {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        let r = agent()
            .post(&self.introspection_endpoint)
            .header("Authorization", &format!("Basic {basic}"))
            .send_form([("token", token)])
            .unwrap();
        read(r)
    }
}

#[test]
fn a_resource_server_verifies_jwts_offline_and_introspects_opaque_tokens_until_revoked() {
    let s = server();
    let rs = ResourceServer::discover(s.issuer(), API);
    let jwt = login(&s, "jwt-app")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let opaque = login(&s, "opaque-app")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // (a) The JWT, offline against the JWK Set.
    let claims = rs.verify_jwt(&jwt).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "jwt-app");
    assert_eq!(claims["scope"], "openid profile");
    assert_eq!(claims["iss"], s.issuer());
    assert_eq!(claims["aud"], API);
    assert!(rs.verify_jwt(&opaque).is_err(), "an opaque token is no JWT");

    // (b) The opaque token, by introspection; the JWT can be introspected too.
    let (status, about) = rs.introspect(&opaque);
    assert_eq!(status, 200);
    assert_eq!(about["active"], true);
    assert_eq!(about["sub"], "alice");
    assert_eq!(about["client_id"], "opaque-app");
    assert_eq!(about["token_type"], "Bearer");
    assert_eq!(about["iss"], s.issuer());
    let (_, about_jwt) = rs.introspect(&jwt);
    assert_eq!(about_jwt["active"], true);
    for claim in ["sub", "client_id", "scope", "exp", "iat", "aud"] {
        assert_eq!(about_jwt[claim], claims[claim], "{claim}");
    }

    // `/userinfo` takes the JWT like any access token.
    let userinfo = format!("{}/userinfo", s.issuer());
    let bearer = |t: &str| {
        read(
            agent()
                .get(&userinfo)
                .header("Authorization", &format!("Bearer {t}"))
                .call()
                .unwrap(),
        )
    };
    assert_eq!(bearer(&jwt), (200, json!({ "sub": "alice" })));

    // Revocation: both inactive at once; the JWT's signature still checks until `exp`.
    let revoke = format!("{}/revoke", s.issuer());
    for (client_id, token) in [("jwt-app", &jwt), ("opaque-app", &opaque)] {
        let (status, _) = post(&revoke, &[("client_id", client_id), ("token", token)]);
        assert_eq!(status, 200);
        assert_eq!(rs.introspect(token), (200, json!({ "active": false })));
    }
    assert_eq!(bearer(&jwt).0, 401);
    assert!(
        rs.verify_jwt(&jwt).is_ok(),
        "offline verification cannot see a revocation before exp"
    );
    s.shutdown();
}

#[test]
fn only_the_resource_server_with_its_secret_may_introspect() {
    let s = server();
    let rs = ResourceServer::discover(s.issuer(), API);
    let token = login(&s, "opaque-app")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = rs.introspect_as(("api", "wrong"), &token);
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    // A public client presents no secret: it cannot authenticate, so it may not ask.
    let (status, body) = post(
        &rs.introspection_endpoint,
        &[("client_id", "opaque-app"), ("token", &token)],
    );
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    let (status, body) = rs.introspect(&token);
    assert_eq!((status, &body["active"]), (200, &json!(true)));
    s.shutdown();
}

#[test]
fn a_tampered_or_misaddressed_jwt_is_refused() {
    let s = server();
    let rs = ResourceServer::discover(s.issuer(), API);
    let jwt = login(&s, "jwt-app")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(rs.verify_jwt(&jwt).is_ok());

    // Another subject in the payload, the signature kept.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("mallory");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let err = rs.verify_jwt(&forged).unwrap_err();
    assert!(err.contains("InvalidSignature"), "{err}");
    assert_eq!(rs.introspect(&forged), (200, json!({ "active": false })));

    // Another API does not accept a token addressed to this one.
    let other = ResourceServer::discover(s.issuer(), "https://other.example.test");
    let err = other.verify_jwt(&jwt).unwrap_err();
    assert!(err.contains("InvalidAudience"), "{err}");
    s.shutdown();
}

#[test]
fn the_jwks_is_served_with_the_signing_key_from_the_start() {
    let s = server();
    let (status, body) = get(&format!("{}/jwks", s.issuer()));
    assert_eq!(status, 200);
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (&keys[0]["kty"], &keys[0]["alg"], &keys[0]["use"]),
        (&json!("EC"), &json!("ES256"), &json!("sig"))
    );
    assert!(keys[0].get("d").is_none());
    s.shutdown();
}
