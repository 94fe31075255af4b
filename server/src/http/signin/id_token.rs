//! ID token validation (OpenID Connect Core §3.1.3.7) with the `jsonwebtoken` crate: the
//! signature under a key of the upstream's JWKS, then issuer, audience, expiry (60 s leeway),
//! `nonce`, and `azp` when there are several audiences. Only asymmetric algorithms: a token
//! signed with HMAC (or `none`) is refused, whatever its header says.

use std::str::FromStr;

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::engine::codes::ct_eq;

const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
const LEEWAY_SECS: u64 = 60;

/// What the token must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
}

/// The claims we use; the rest are ignored.
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// No key in the set has the token's `kid` (the provider may have rotated its keys).
    #[error("no key in the provider's JWKS matches the ID token")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

fn invalid(why: impl std::fmt::Display) -> IdTokenError {
    IdTokenError::Invalid(why.to_string())
}

/// The keys of a JWKS document that `jsonwebtoken` understands; others (unknown key types or
/// algorithms) are skipped rather than failing the whole set.
pub fn parse_jwks(doc: &Value) -> Vec<Jwk> {
    doc.get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Validates `token` against `keys` and `expected`; the claims if everything holds.
pub fn validate(
    token: &str,
    keys: &[Jwk],
    expected: &Expected<'_>,
) -> Result<Claims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(format!("header: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(invalid(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let jwk = pick_key(keys, header.kid.as_deref(), header.alg)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("key: {e}")))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[expected.issuer]);
    v.set_audience(&[expected.client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = LEEWAY_SECS;
    v.validate_nbf = true;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
        .map_err(invalid)?
        .claims;
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| ct_eq(n.as_bytes(), expected.nonce.as_bytes()));
    if !nonce_ok {
        return Err(invalid("the nonce is not the one this sign-in sent"));
    }
    let several = claims.aud.as_array().is_some_and(|a| a.len() > 1);
    match claims.azp.as_deref() {
        Some(azp) if azp != expected.client_id => return Err(invalid("azp is another client")),
        None if several => return Err(invalid("several audiences and no azp")),
        _ => {}
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(invalid("sub is empty or longer than 255 bytes"));
    }
    Ok(claims)
}

/// The key for `kid` (or, without a `kid`, the one signing key that fits `alg`), never an
/// encryption key, and never one whose own `alg` is another.
fn pick_key<'k>(
    keys: &'k [Jwk],
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<&'k Jwk, IdTokenError> {
    let fits = |k: &&Jwk| {
        let for_signing = !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption));
        let same_alg = k
            .common
            .key_algorithm
            .is_none_or(|ka: KeyAlgorithm| Algorithm::from_str(&ka.to_string()) == Ok(alg));
        for_signing && same_alg
    };
    let mut candidates = keys.iter().filter(fits).filter(|k| match kid {
        Some(kid) => k.common.key_id.as_deref() == Some(kid),
        None => DecodingKey::from_jwk(k).is_ok_and(|_| family_fits(k, alg)),
    });
    match (candidates.next(), candidates.next()) {
        (Some(k), None) => Ok(k),
        (Some(_), Some(_)) => Err(invalid("several keys fit the ID token; it names none")),
        (None, _) => Err(IdTokenError::UnknownKey),
    }
}

fn family_fits(k: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    matches!(
        (&k.algorithm, alg),
        (
            P::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (P::EllipticCurve(_), Algorithm::ES256 | Algorithm::ES384)
            | (P::OctetKeyPair(_), Algorithm::EdDSA)
    )
}

/// What the pages show for the user: `name`, else `preferred_username`, else `email`, else `sub`.
pub fn display_name(c: &Claims) -> &str {
    [&c.name, &c.preferred_username, &c.email]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or(&c.sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use p256::pkcs8::EncodePrivateKey;
    use serde_json::json;

    const ISS: &str = "https://op.example";
    const CLIENT: &str = "front";
    const NONCE: &str = "n-0123456789";

    fn key(seed: u8) -> EncodingKey {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes())
    }

    fn jwks(seed: u8, kid: &str) -> Vec<Jwk> {
        let mut jwk = Jwk::from_encoding_key(&key(seed), Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        // Through JSON, as a provider's JWKS arrives.
        parse_jwks(&json!({ "keys": [{"kty": "RSA", "n": 5}, jwk, {"kty": "weird"}] }))
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "aud": CLIENT, "sub": "alice-123", "nonce": NONCE,
            "iat": now(), "exp": now() + 300, "name": "Alice",
        })
    }

    fn sign(claims: &Value, seed: u8, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &key(seed)).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISS,
            client_id: CLIENT,
            nonce: NONCE,
        }
    }

    fn check(token: &str) -> Result<Claims, IdTokenError> {
        validate(token, &jwks(1, "k1"), &expected())
    }

    #[test]
    fn a_good_token_gives_its_subject_and_name() {
        // Keys of unknown or malformed kinds beside ours do not spoil the set.
        let keys = jwks(1, "k1");
        assert!(keys
            .iter()
            .any(|k| k.common.key_id.as_deref() == Some("k1")));
        let c = check(&sign(&claims(), 1, Some("k1"))).unwrap();
        assert_eq!(c.sub, "alice-123");
        assert_eq!(display_name(&c), "Alice");
        // Without a kid, the one key that fits is used.
        let mut bare = claims();
        bare.as_object_mut().unwrap().remove("name");
        let c = check(&sign(&bare, 1, None)).unwrap();
        assert_eq!(display_name(&c), "alice-123");
    }

    #[test]
    fn each_claim_that_is_wrong_is_refused() {
        let cases: [(&str, Value); 6] = [
            ("nonce", json!("another-nonce")),
            ("aud", json!("another-client")),
            ("iss", json!("https://evil.example")),
            ("exp", json!(now() - 120)),
            ("nbf", json!(now() + 600)),
            ("sub", json!("")),
        ];
        for (claim, value) in cases {
            let mut c = claims();
            c[claim] = value;
            let r = check(&sign(&c, 1, Some("k1")));
            assert!(matches!(r, Err(IdTokenError::Invalid(_))), "{claim}: {r:?}");
        }
        for claim in ["nonce", "exp", "aud", "iss"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(claim);
            assert!(check(&sign(&c, 1, Some("k1"))).is_err(), "no {claim}");
        }
    }

    #[test]
    fn several_audiences_need_azp_naming_us() {
        let mut c = claims();
        c["aud"] = json!([CLIENT, "other"]);
        assert!(check(&sign(&c, 1, Some("k1"))).is_err());
        c["azp"] = json!(CLIENT);
        assert!(check(&sign(&c, 1, Some("k1"))).is_ok());
        c["azp"] = json!("other");
        assert!(check(&sign(&c, 1, Some("k1"))).is_err());
    }

    #[test]
    fn signatures_must_verify_under_the_named_key() {
        // Another key under the same kid: a forged signature.
        let forged = check(&sign(&claims(), 2, Some("k1")));
        assert!(
            matches!(forged, Err(IdTokenError::Invalid(_))),
            "{forged:?}"
        );
        // A kid the set lacks: the caller refetches the keys once.
        assert_eq!(
            check(&sign(&claims(), 1, Some("k9"))).unwrap_err(),
            IdTokenError::UnknownKey
        );
        // A tampered payload.
        let token = sign(&claims(), 1, Some("k1"));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c["sub"] = json!("mallory");
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            c.to_string(),
        );
        assert!(check(&parts.join(".")).is_err());
    }

    #[test]
    fn hmac_and_none_are_refused_whatever_the_header_says() {
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"front-secret").unwrap(),
        )
        .unwrap();
        let r = check(&hs);
        assert!(
            matches!(r, Err(IdTokenError::Invalid(ref m)) if m.contains("not accepted")),
            "{r:?}"
        );
        let b64 = |v: &Value| {
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                v.to_string(),
            )
        };
        let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()));
        assert!(check(&none).is_err());
    }
}
