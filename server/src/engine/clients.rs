//! The client registry and client authentication (RFC 6749 §2.3, §3.2.1).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;

use super::codes::{ct_eq, sha256, Digest32};
use super::error::OAuthError;

/// How a client authenticates at the token, device authorization and revocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A public client: `client_id` in the body identifies but does not authenticate (RFC 8628 §5.6).
    None,
    /// HTTP Basic with `client_id:client_secret` (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
}

impl AuthMethod {
    /// The RFC 8414 `token_endpoint_auth_methods_supported` name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// The form of a client's access tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessTokenFormat {
    /// 256 random bits; resource servers ask `/introspect` (RFC 7662).
    #[default]
    Opaque,
    /// A signed JWT (RFC 9068, ES256) that resource servers verify against `/jwks` on their own;
    /// `/introspect` answers for it too.
    Jwt,
}

/// One registered client. Only the SHA-256 of a secret is kept.
#[derive(Clone)]
pub struct Client {
    pub client_id: String,
    /// Shown on the confirmation page, marked as the app's own claim.
    pub name: String,
    pub auth_method: AuthMethod,
    secret_hash: Option<Digest32>,
    /// Scopes this client may obtain; a request without `scope` gets all of them.
    pub scopes: Vec<String>,
    /// Whether the device grant is enabled for this client (RFC 8628 §3.1; off unless asked for).
    pub device_grant: bool,
    /// Whether refresh tokens are issued (and the `refresh_token` grant accepted).
    pub refresh_tokens: bool,
    /// This client's access token lifetime (ms); `None` = the server's (`access_token_ttl_ms`).
    pub access_token_ttl_ms: Option<i64>,
    /// This client's refresh token idle lifetime (ms); `None` = the server's
    /// (`refresh_idle_ttl_ms`). The absolute cap of a refresh chain still applies.
    pub refresh_token_ttl_ms: Option<i64>,
    /// Opaque (default) or JWT access tokens (RFC 9068).
    pub access_token_format: AccessTokenFormat,
    /// The `aud` of this client's JWT access tokens (and of its tokens at `/introspect`);
    /// `None` = the issuer.
    pub audience: Option<String>,
    /// A resource server allowed to call `/introspect` (RFC 7662). Only confidential clients
    /// ever may: a public client's flag is ignored.
    pub introspection: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .field("secret", &self.secret_hash.map(|_| "<redacted>"))
            .field("scopes", &self.scopes)
            .field("device_grant", &self.device_grant)
            .field("refresh_tokens", &self.refresh_tokens)
            .field("access_token_ttl_ms", &self.access_token_ttl_ms)
            .field("refresh_token_ttl_ms", &self.refresh_token_ttl_ms)
            .field("access_token_format", &self.access_token_format)
            .field("audience", &self.audience)
            .field("introspection", &self.introspection)
            .finish()
    }
}

impl Client {
    /// A public client with the device grant and refresh tokens enabled.
    pub fn public(client_id: &str, name: &str, scopes: &[&str]) -> Self {
        Client {
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            auth_method: AuthMethod::None,
            secret_hash: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            device_grant: true,
            refresh_tokens: true,
            access_token_ttl_ms: None,
            refresh_token_ttl_ms: None,
            access_token_format: AccessTokenFormat::Opaque,
            audience: None,
            introspection: false,
        }
    }

    /// A confidential client authenticating with `method` (basic or post) and `secret`.
    pub fn confidential(
        client_id: &str,
        name: &str,
        method: AuthMethod,
        secret: &str,
        scopes: &[&str],
    ) -> Self {
        Client {
            auth_method: method,
            secret_hash: Some(sha256(secret)),
            ..Client::public(client_id, name, scopes)
        }
    }

    /// A confidential client given by the SHA-256 of its secret (e.g. from a configuration
    /// file), so the secret itself never reaches the server.
    pub fn confidential_hashed(
        client_id: &str,
        name: &str,
        method: AuthMethod,
        secret_sha256: Digest32,
        scopes: &[&str],
    ) -> Self {
        Client {
            auth_method: method,
            secret_hash: Some(secret_sha256),
            ..Client::public(client_id, name, scopes)
        }
    }

    /// Per-client token lifetimes (ms) instead of the server's; `None` keeps the server's.
    pub fn with_token_ttls(mut self, access_ms: Option<i64>, refresh_idle_ms: Option<i64>) -> Self {
        self.access_token_ttl_ms = access_ms;
        self.refresh_token_ttl_ms = refresh_idle_ms;
        self
    }

    /// Whether the client is public (no secret).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }
}

/// All registered clients, by `client_id`.
#[derive(Clone, Debug, Default)]
pub struct ClientRegistry {
    clients: BTreeMap<String, Client>,
}

impl ClientRegistry {
    pub fn new(clients: impl IntoIterator<Item = Client>) -> Self {
        ClientRegistry {
            clients: clients
                .into_iter()
                .map(|c| (c.client_id.clone(), c))
                .collect(),
        }
    }

    pub fn insert(&mut self, client: Client) {
        self.clients.insert(client.client_id.clone(), client);
    }

    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    /// What a page shows for `client_id`: its name (the id itself for a client no longer
    /// registered) and whether that name is only the app's own claim (a public client, RFC
    /// 8628 §5.6, or an unknown one).
    pub fn shown_name(&self, client_id: &str) -> (String, bool) {
        match self.get(client_id) {
            Some(c) => (c.name.clone(), c.is_public()),
            None => (client_id.to_owned(), true),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    /// Authenticates the caller of a client endpoint (`authenticate`), then checks it may use
    /// what the endpoint offers: `invalid_client` (401) for the first, `unauthorized_client`
    /// (400) for the second. Every client endpoint starts here, so the order is the same for all.
    pub fn authenticate_for(
        &self,
        req: &super::ClientRequest,
        needs: Needs,
    ) -> Result<&Client, OAuthError> {
        let client = self.authenticate(&req.params, req.authorization.as_deref())?;
        let (allowed, refusal) = match needs {
            Needs::Nothing => (true, ""),
            Needs::DeviceGrant => (
                client.device_grant,
                "the device grant is not enabled for this client",
            ),
            Needs::RefreshTokens => (
                client.refresh_tokens,
                "refresh tokens are not enabled for this client",
            ),
            Needs::Introspection if client.is_public() => {
                return Err(OAuthError::invalid_client(
                    "introspection needs client authentication",
                ))
            }
            Needs::Introspection => (
                client.introspection,
                "this client may not introspect tokens",
            ),
        };
        if allowed {
            Ok(client)
        } else {
            Err(OAuthError::unauthorized_client(refusal))
        }
    }

    /// Authenticates the caller of a client endpoint from the form and the `Authorization` header.
    /// Any failure is `invalid_client` (HTTP 401), without saying which part was wrong.
    pub fn authenticate(
        &self,
        params: &super::Params,
        authorization: Option<&str>,
    ) -> Result<&Client, OAuthError> {
        let basic = authorization.map(parse_basic).transpose()?;
        let body_id = params.get("client_id");
        let body_secret = params.get("client_secret");
        let (client_id, secret, method) = match (&basic, body_secret) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_client("use one authentication method"))
            }
            (Some((id, secret)), None) => {
                if body_id.is_some_and(|b| b != id) {
                    return Err(OAuthError::invalid_client("client_id mismatch"));
                }
                (
                    id.as_str(),
                    Some(secret.as_str()),
                    AuthMethod::ClientSecretBasic,
                )
            }
            (None, Some(secret)) => (
                body_id.ok_or_else(|| OAuthError::invalid_client("client_id missing"))?,
                Some(secret),
                AuthMethod::ClientSecretPost,
            ),
            (None, None) => (
                body_id.ok_or_else(|| OAuthError::invalid_client("client_id missing"))?,
                None,
                AuthMethod::None,
            ),
        };
        let client = self
            .get(client_id)
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
        let secret_ok = match (client.secret_hash, secret) {
            (None, None) => true,
            (Some(expected), Some(given)) => ct_eq(&expected, &sha256(given)),
            _ => false,
        };
        if !secret_ok || client.auth_method != method {
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
        Ok(client)
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Authorization header");
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok((percent_decode(id), percent_decode(secret)))
}

/// `%XX` and `+` decoding for the Basic credentials (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a client endpoint needs its caller to be allowed, beyond authenticating.
#[derive(Clone, Copy, Debug)]
pub enum Needs {
    /// Revocation, and the token endpoint's answer to an unknown grant type.
    Nothing,
    /// Device authorization and polling.
    DeviceGrant,
    /// The refresh token grant.
    RefreshTokens,
    /// Introspection: a confidential client with the permission.
    Introspection,
}
