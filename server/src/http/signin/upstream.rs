//! Sign-in through an upstream OpenID provider: the authorization code flow (OpenID Connect
//! Core §3.1) with PKCE S256 (RFC 7636), `state` and `nonce`. The provider is found by
//! discovery (`{issuer}/.well-known/openid-configuration`, its `issuer` checked); its keys come
//! from its `jwks_uri`. Both are cached for an hour; an ID token signed with a key the cache
//! does not have makes one fresh fetch of the keys (at most every 30 s).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fetch::{FetchError, Http};
use super::id_token::{self, Expected, IdTokenError};
use super::User;
use crate::http::session::PendingLogin;

const CACHE_FOR: Duration = Duration::from_secs(3600);
const KEYS_REFETCH_AFTER: Duration = Duration::from_secs(30);

/// An upstream OpenID provider the verification page signs users in with
/// ([`SignIn::Upstream`](super::SignIn::Upstream); `deviceflow serve --upstream-issuer URL
/// --upstream-client-id ID`, the secret from `DEVICEFLOW_UPSTREAM_CLIENT_SECRET`).
///
/// Register this server at the provider as a web client with the redirect URI
/// [`callback_uri`](super::callback_uri)`(issuer)` = `{issuer}/device/callback`, the
/// authorization code grant, and PKCE. The user's `sub` becomes the subject of the tokens
/// this server issues.
#[derive(Clone)]
pub struct UpstreamSignIn {
    /// The provider's issuer URL: https (plain http only on loopback).
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client (PKCE alone); otherwise sent with HTTP Basic
    /// (`client_secret_basic`). Never shown by `Debug`.
    pub client_secret: Option<String>,
    /// Scopes asked for; `openid` must be one. Default `openid profile`.
    pub scope: String,
}

impl UpstreamSignIn {
    /// A public client of `issuer` asking for `openid profile`.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        UpstreamSignIn {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            scope: "openid profile".to_owned(),
        }
    }
}

impl fmt::Debug for UpstreamSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamSignIn")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why a sign-in with the provider failed. Messages name endpoints and OAuth error codes,
/// never a code, token, verifier or secret.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the provider could not be reached: {0}")]
    Fetch(#[from] FetchError),
    #[error("the provider's discovery document is not usable: {0}")]
    Discovery(String),
    #[error("the provider refused the sign-in: {0}")]
    Token(String),
    #[error("the provider's ID token is not valid: {0}")]
    IdToken(String),
}

/// The endpoints discovery gave.
struct Provider {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The live upstream: configuration, HTTP client and caches.
pub struct Upstream {
    config: UpstreamSignIn,
    redirect_uri: String,
    http: Http,
    provider: Mutex<Option<(Instant, Arc<Provider>)>>,
    keys: Mutex<Option<(Instant, Arc<Vec<Jwk>>)>>,
}

impl Upstream {
    pub fn new(config: UpstreamSignIn, redirect_uri: String) -> Self {
        Upstream {
            config,
            redirect_uri,
            http: Http::new(),
            provider: Mutex::new(None),
            keys: Mutex::new(None),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Where to send the browser to start a sign-in (blocking: may fetch discovery).
    /// `reauth`: the user asked to sign in as someone else, so the provider is asked to
    /// authenticate again (`prompt=login`).
    pub fn authorization_url(
        &self,
        login: &PendingLogin,
        reauth: bool,
    ) -> Result<String, UpstreamError> {
        let provider = self.provider()?;
        let challenge = B64.encode(Sha256::digest(login.verifier.as_bytes()));
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.config.scope)
            .append_pair("state", &login.state)
            .append_pair("nonce", &login.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if reauth {
            query.append_pair("prompt", "login");
        }
        let sep = if provider.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!(
            "{}{sep}{}",
            provider.authorization_endpoint,
            query.finish()
        ))
    }

    /// Exchanges the callback's `code` (with the PKCE verifier) and validates the ID token:
    /// the user it names (blocking).
    pub fn finish(&self, code: &str, login: &PendingLogin) -> Result<User, UpstreamError> {
        let provider = self.provider()?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", login.verifier.as_str()),
        ];
        let basic = match &self.config.client_secret {
            Some(secret) => Some((self.config.client_id.as_str(), secret.as_str())),
            None => {
                form.push(("client_id", self.config.client_id.as_str()));
                None
            }
        };
        let answer = self
            .http
            .post_form(&provider.token_endpoint, &form, basic)?;
        if answer.status != 200 {
            let error = answer.body.get("error").and_then(Value::as_str);
            return Err(UpstreamError::Token(format!(
                "HTTP {} {}",
                answer.status,
                error.map(printable).unwrap_or_default()
            )));
        }
        let token = answer
            .body
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| UpstreamError::Token("no id_token in the token response".into()))?;
        let expected = Expected {
            issuer: &provider.issuer,
            client_id: &self.config.client_id,
            nonce: &login.nonce,
        };
        let claims = match id_token::validate(token, &self.keys(&provider, false)?, &expected) {
            Err(IdTokenError::UnknownKey) => {
                id_token::validate(token, &self.keys(&provider, true)?, &expected)
            }
            other => other,
        }
        .map_err(|e| UpstreamError::IdToken(e.to_string()))?;
        Ok(User {
            display_name: id_token::display_name(&claims).to_owned(),
            id: claims.sub,
        })
    }

    /// The discovery document, cached.
    fn provider(&self) -> Result<Arc<Provider>, UpstreamError> {
        let mut cached = self.provider.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, p)) = cached.as_ref() {
            if at.elapsed() < CACHE_FOR {
                return Ok(p.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let answer = self.http.get_json(&url)?;
        if answer.status != 200 {
            return Err(UpstreamError::Discovery(format!(
                "{url}: HTTP {}",
                answer.status
            )));
        }
        let provider = Arc::new(read_discovery(&answer.body, &self.config.issuer)?);
        *cached = Some((Instant::now(), provider.clone()));
        Ok(provider)
    }

    /// The provider's keys, cached; `fresh` refetches unless the last fetch was under 30 s ago.
    fn keys(&self, provider: &Provider, fresh: bool) -> Result<Arc<Vec<Jwk>>, UpstreamError> {
        let mut cached = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, keys)) = cached.as_ref() {
            let age = at.elapsed();
            if age < CACHE_FOR && (!fresh || age < KEYS_REFETCH_AFTER) {
                return Ok(keys.clone());
            }
        }
        let answer = self.http.get_json(&provider.jwks_uri)?;
        if answer.status != 200 {
            return Err(UpstreamError::Discovery(format!(
                "{}: HTTP {}",
                provider.jwks_uri, answer.status
            )));
        }
        let keys = Arc::new(id_token::parse_jwks(&answer.body));
        *cached = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }
}

/// The endpoints of a discovery document whose `issuer` is the configured one (a trailing `/`
/// aside; the document's own spelling is what ID tokens must carry). Endpoints must be https,
/// or http on loopback.
fn read_discovery(doc: &Value, configured: &str) -> Result<Provider, UpstreamError> {
    let field = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| UpstreamError::Discovery(format!("no {name}")))
    };
    let issuer = field("issuer")?;
    if issuer.trim_end_matches('/') != configured.trim_end_matches('/') {
        return Err(UpstreamError::Discovery(format!(
            "it is for another issuer ({})",
            printable(&issuer)
        )));
    }
    let provider = Provider {
        authorization_endpoint: field("authorization_endpoint")?,
        token_endpoint: field("token_endpoint")?,
        jwks_uri: field("jwks_uri")?,
        issuer,
    };
    for url in [
        &provider.authorization_endpoint,
        &provider.token_endpoint,
        &provider.jwks_uri,
    ] {
        if !super::safe_url(url) {
            return Err(UpstreamError::Discovery(format!(
                "endpoint {} is not https (or http on loopback)",
                printable(url)
            )));
        }
    }
    let methods = doc.get("code_challenge_methods_supported");
    if let Some(methods) = methods.and_then(Value::as_array) {
        if !methods.iter().any(|m| m == "S256") {
            return Err(UpstreamError::Discovery("no PKCE S256 support".into()));
        }
    }
    Ok(provider)
}

/// Text from the provider, fit for a message: printable ASCII, at most 100 characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovery_must_name_the_configured_issuer_and_safe_endpoints() {
        let doc = |issuer: &str, token: &str| {
            json!({
                "issuer": issuer,
                "authorization_endpoint": "https://op.example/auth",
                "token_endpoint": token,
                "jwks_uri": "https://op.example/jwks",
                "code_challenge_methods_supported": ["S256"],
            })
        };
        let ok = read_discovery(
            &doc("https://op.example/", "https://op.example/token"),
            "https://op.example",
        )
        .unwrap();
        assert_eq!(ok.issuer, "https://op.example/");
        assert_eq!(ok.token_endpoint, "https://op.example/token");
        let other = read_discovery(
            &doc("https://evil.example", "https://op.example/token"),
            "https://op.example",
        );
        assert!(matches!(other, Err(UpstreamError::Discovery(m)) if m.contains("another issuer")));
        let plain = read_discovery(
            &doc("https://op.example", "http://op.example/token"),
            "https://op.example",
        );
        assert!(matches!(plain, Err(UpstreamError::Discovery(m)) if m.contains("not https")));
        let mut no_pkce = doc("https://op.example", "https://op.example/token");
        no_pkce["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(read_discovery(&no_pkce, "https://op.example").is_err());
    }

    #[test]
    fn the_authorization_url_carries_state_nonce_and_the_s256_challenge() {
        let up = Upstream::new(
            UpstreamSignIn::new("https://op.example", "front"),
            "https://login.example/device/callback".into(),
        );
        *up.provider.lock().unwrap() = Some((
            Instant::now(),
            Arc::new(Provider {
                issuer: "https://op.example".into(),
                authorization_endpoint: "https://op.example/auth?tenant=1".into(),
                token_endpoint: "https://op.example/token".into(),
                jwks_uri: "https://op.example/jwks".into(),
            }),
        ));
        // RFC 7636 Appendix B's example verifier and challenge.
        let login = PendingLogin {
            state: "st8".into(),
            nonce: "n0nce".into(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            started_ms: 0,
        };
        let url = up.authorization_url(&login, true).unwrap();
        let (base, query) = url.split_once("?tenant=1&").unwrap();
        assert_eq!(base, "https://op.example/auth");
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("front"));
        assert_eq!(
            get("redirect_uri"),
            Some("https://login.example/device/callback")
        );
        assert_eq!(get("scope"), Some("openid profile"));
        assert_eq!(get("state"), Some("st8"));
        assert_eq!(get("nonce"), Some("n0nce"));
        assert_eq!(
            get("code_challenge"),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("prompt"), Some("login"));
        assert_eq!(
            get("code_verifier"),
            None,
            "the verifier never leaves the server here"
        );
        assert!(!up
            .authorization_url(&login, false)
            .unwrap()
            .contains("prompt="));
    }

    #[test]
    fn debug_never_shows_the_client_secret() {
        let mut c = UpstreamSignIn::new("https://op.example", "front");
        c.client_secret = Some("hunter2-secret".into());
        let shown = format!("{c:?}");
        assert!(
            shown.contains("front") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
