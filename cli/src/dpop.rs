//! DPoP (RFC 9449) for `login --dpop`: a P-256 key made from OS randomness (the core's
//! `SoftwareKey`), kept with the profile's tokens (`secrets.dpop_key`), used for every
//! token-endpoint request of the login (refresh, revocation) and for resource requests
//! (`token --format header --method M --url U`).

use crate::exit::CliError;
use crate::store::Secrets;
use deviceflow::{Dpop, DpopConfig, Header, HttpResponse, SoftwareKey, Timestamp};

fn random<const N: usize>() -> Result<[u8; N], CliError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        CliError::new(
            "internal_error",
            format!("the OS gave no random bytes: {e}"),
            crate::exit::FAILURE,
        )
    })?;
    Ok(bytes)
}

/// A new key from 32 OS-random bytes (retried in the ~2^-128 case of an invalid scalar).
pub fn new_key() -> Result<SoftwareKey, CliError> {
    loop {
        if let Ok(key) = SoftwareKey::from_bytes(&random::<32>()?) {
            return Ok(key);
        }
    }
}

/// The core's DPoP configuration for one operation: the key's public half and fresh
/// entropy for the proofs' `jti`.
pub fn config(key: &SoftwareKey) -> Result<DpopConfig, CliError> {
    use base64::Engine;
    let entropy = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<16>()?);
    Ok(DpopConfig::new(key.public_jwk(), entropy))
}

/// The profile's key, when it logged in with `--dpop`.
pub fn key_of(secrets: &Secrets) -> Result<Option<SoftwareKey>, CliError> {
    secrets
        .dpop_key
        .as_ref()
        .map(|d| {
            SoftwareKey::from_secret(d).map_err(|e| {
                CliError::storage(format!(
                    "the profile's DPoP key is damaged ({e}); run `deviceflow login --dpop`"
                ))
            })
        })
        .transpose()
}

/// `Authorization: DPoP <token>` and `DPoP: <proof>` (with `ath`, and `nonce` when given)
/// for one request to a resource server.
pub fn resource_headers(
    key: &SoftwareKey,
    method: &str,
    url: &str,
    access_token: &str,
    nonce: Option<&str>,
    now: Timestamp,
) -> Result<Vec<Header>, CliError> {
    let mut dpop = Dpop::new(config(key)?)?;
    if let Some(n) = nonce {
        // Filed by the core under the URL's origin, as a real answer's `DPoP-Nonce` would be.
        let answer = HttpResponse::new(401, vec![Header::new("dpop-nonce", n)], vec![]);
        dpop.handle_response(url, &answer);
    }
    dpop.resource_headers_with(|i| key.sign(i), method, url, access_token, now)
        .map_err(|e| CliError::new("internal_error", e.to_string(), crate::exit::FAILURE))
}

/// `--url` for a resource proof: an absolute http(s) URL without a fragment.
pub fn parse_url(s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.chars().any(char::is_control) => {
            Ok(s.to_owned())
        }
        _ => Err("an absolute http:// or https:// URL".into()),
    }
}

/// `--method`: an HTTP method token, upper-cased (`get` → `GET`).
pub fn parse_method(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(s.to_ascii_uppercase())
    } else {
        Err("an HTTP method such as GET or POST".into())
    }
}

/// `--nonce`: the resource server's `DPoP-Nonce` (visible ASCII, no quote).
pub fn parse_nonce(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 512
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("the DPoP-Nonce header's value (visible ASCII)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn a_nonce_that_begins_with_a_dash_is_a_value_not_a_flag() {
        use clap::Parser;
        let cli = crate::args::Cli::try_parse_from([
            "deviceflow",
            "token",
            "--format",
            "header",
            "--method",
            "GET",
            "--url",
            "https://api.example/me",
            "--nonce",
            "-q3x_Z",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let crate::args::Command::Token(t) = cli.command else {
            panic!("not the token command");
        };
        assert_eq!(t.nonce.as_deref(), Some("-q3x_Z"));
    }

    #[test]
    fn resource_proof_has_ath_nonce_and_the_url_without_query() {
        let key = SoftwareKey::from_bytes(&[7; 32]).unwrap();
        let h = resource_headers(
            &key,
            "GET",
            "https://API.example:8443/me?x=1#f",
            "tok",
            Some("n-1"),
            Timestamp(1_700_000_000_123),
        )
        .unwrap();
        assert_eq!(h[0].name, "authorization");
        assert_eq!(h[0].value, "DPoP tok");
        let parts: Vec<&str> = h[1].value.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://API.example:8443/me");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["ath"], deviceflow::ath("tok"));
        assert_eq!(b64.decode(parts[2]).unwrap().len(), 64);
    }

    #[test]
    fn keys_are_fresh_and_round_trip() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a.public_jwk(), b.public_jwk());
        let again = SoftwareKey::from_secret(&a.secret()).unwrap();
        assert_eq!(again.public_jwk(), a.public_jwk());
    }

    #[test]
    fn argument_parsers() {
        assert_eq!(parse_method("get").unwrap(), "GET");
        assert!(parse_method("GE T").is_err());
        assert!(parse_url("https://a.example/x").is_ok());
        assert!(parse_url("ftp://a.example/").is_err());
        assert!(parse_url("https:///x").is_err());
        assert!(parse_url("/relative").is_err());
        assert!(parse_nonce("abc\"").is_err());
        assert!(parse_nonce("abc-_.~").is_ok());
    }
}
