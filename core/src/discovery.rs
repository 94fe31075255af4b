//! Authorization server discovery: OpenID Connect Discovery 1.0 §4 and
//! RFC 8414 §3, trying one document and falling back to the other.

use crate::config::Timing;
use crate::display::check_secure_url;
use crate::error::{ConfigError, ErrorCode, FlowError};
use crate::exchange::{Answer, Spec, Verdict};
use crate::http::{RequestId, Timestamp};
use crate::json::Value;
use crate::operation::Operation;
use crate::outbox::Template;
use crate::wire::fields::{opt_str, Object};
use crate::wire::reply::OAuthError;
use crate::wire::request::json_get;
use serde::{Deserialize, Serialize};

/// What discovery learned about a server. Endpoint URLs are checked
/// (https, or http to loopback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// The URL the document came from.
    pub source: String,
}

/// The device code grant type (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The two well-known URLs for an issuer, OpenID Connect first.
/// RFC 8414 §3.1 inserts the well-known segment before the issuer's path;
/// OpenID Connect Discovery appends it.
pub fn discovery_urls(issuer: &str) -> Result<[String; 2], ConfigError> {
    let parts = check_secure_url(issuer).map_err(|e| ConfigError::new(format!("issuer: {e}")))?;
    if parts.rest.contains(['?', '#']) {
        return Err(ConfigError::new(
            "issuer must not have a query or fragment (RFC 8414 §2)",
        ));
    }
    let path = parts.rest.trim_end_matches('/');
    Ok([
        format!("{}{}/.well-known/openid-configuration", parts.origin, path),
        format!(
            "{}/.well-known/oauth-authorization-server{}",
            parts.origin, path
        ),
    ])
}

pub(crate) struct DiscoverySpec {
    issuer: String,
    urls: [String; 2],
    index: usize,
    problems: Vec<String>,
    /// A document for another issuer: reported if no document is usable.
    mismatch: Option<Box<FlowError>>,
    /// A document that parsed but is unsafe or malformed (say an http endpoint):
    /// reported if no document is usable, since the server did answer.
    invalid: Option<Box<FlowError>>,
}

impl DiscoverySpec {
    pub fn new(issuer: &str) -> Result<(Self, Template), ConfigError> {
        let urls = discovery_urls(issuer)?;
        let template = Template::from_request(json_get(RequestId(0), &urls[0]));
        Ok((
            DiscoverySpec {
                issuer: issuer.to_owned(),
                urls,
                index: 0,
                problems: Vec::new(),
                mismatch: None,
                invalid: None,
            },
            template,
        ))
    }

    fn fall_back(&mut self, problem: String) -> Verdict<ServerMetadata> {
        self.problems
            .push(format!("{}: {problem}", self.urls[self.index]));
        self.index += 1;
        if let Some(url) = self.urls.get(self.index) {
            return Verdict::FallBack(Template::from_request(json_get(RequestId(0), url)));
        }
        if let Some(e) = self.mismatch.take().or(self.invalid.take()) {
            return Verdict::Fail(*e);
        }
        Verdict::Fail(FlowError::new(
            ErrorCode::Unsupported,
            format!(
                "no usable discovery document for {} ({})",
                self.issuer,
                self.problems.join("; ")
            ),
        ))
    }
}

impl Spec for DiscoverySpec {
    type Output = ServerMetadata;

    fn target(&self) -> &'static str {
        "the discovery endpoint"
    }

    fn on_success(&mut self, obj: Object, at: Answer) -> Verdict<ServerMetadata> {
        match self.read(obj) {
            Ok(meta) => Verdict::Done(meta),
            Err(Problem::Mismatch(e)) => {
                self.mismatch = Some(Box::new(e));
                self.fall_back("issuer mismatch".into())
            }
            Err(Problem::Invalid(reason)) => {
                let e = FlowError::invalid_response(
                    Some(at.status),
                    format!("discovery document {}: {reason}", self.urls[self.index]),
                );
                if self.index + 1 < self.urls.len() {
                    // A document that is an object is evidence of metadata: reported if
                    // the other one is no better.
                    self.invalid.get_or_insert(Box::new(e));
                    self.fall_back(reason)
                } else {
                    Verdict::Fail(self.invalid.take().map_or(e, |b| *b))
                }
            }
        }
    }

    fn on_oauth_error(&mut self, e: OAuthError, _at: Answer) -> Verdict<ServerMetadata> {
        self.fall_back(format!("HTTP {} {}", e.status, e.error))
    }

    fn on_invalid(&mut self, e: FlowError, _at: Answer) -> Verdict<ServerMetadata> {
        self.fall_back(e.message)
    }
}

enum Problem {
    Invalid(String),
    Mismatch(FlowError),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Invalid(s)
    }
}

impl DiscoverySpec {
    fn read(&self, obj: Object) -> Result<ServerMetadata, Problem> {
        let issuer =
            opt_str(&obj, "issuer")?.ok_or_else(|| Problem::Invalid("issuer is missing".into()))?;
        if issuer.trim_end_matches('/') != self.issuer.trim_end_matches('/') {
            let mut e = FlowError::new(
                ErrorCode::IssuerMismatch,
                format!(
                    "metadata is for issuer \"{}\", not \"{}\" (RFC 8414 §3.3)",
                    crate::display::clean_text(issuer),
                    self.issuer
                ),
            );
            e.status = Some(200);
            return Err(Problem::Mismatch(e));
        }
        let endpoint = |key: &str| -> Result<Option<String>, String> {
            match opt_str(&obj, key)? {
                None => Ok(None),
                Some(url) => {
                    check_secure_url(url).map_err(|e| format!("{key}: {e}"))?;
                    Ok(Some(url.to_owned()))
                }
            }
        };
        let list = |key: &str| -> Result<Vec<String>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()),
                Some(_) => Err(format!("{key} must be an array")),
            }
        };
        Ok(ServerMetadata {
            issuer: issuer.to_owned(),
            device_authorization_endpoint: endpoint("device_authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            revocation_endpoint: endpoint("revocation_endpoint")?,
            token_endpoint_auth_methods_supported: list("token_endpoint_auth_methods_supported")?,
            grant_types_supported: list("grant_types_supported")?,
            scopes_supported: list("scopes_supported")?,
            source: self.urls[self.index].clone(),
        })
    }
}

/// Fetches a server's metadata from its issuer URL, sans-IO.
///
/// ```
/// use deviceflow::{Action, Discovery, HttpResponse, Timestamp};
/// let mut d = Discovery::new("https://as.example.com", Timestamp(0)).unwrap();
/// let Action::Send(req) = d.poll_action(Timestamp(0)) else { panic!() };
/// assert_eq!(req.url, "https://as.example.com/.well-known/openid-configuration");
/// let doc = serde_json::json!({"issuer": "https://as.example.com",
///     "device_authorization_endpoint": "https://as.example.com/device",
///     "token_endpoint": "https://as.example.com/token"});
/// d.handle_response(req.id, HttpResponse::json(200, &doc), Timestamp(10)).unwrap();
/// let Action::Done(meta) = d.poll_action(Timestamp(10)) else { panic!() };
/// assert_eq!(meta.device_authorization_endpoint.as_deref(), Some("https://as.example.com/device"));
/// ```
pub struct Discovery(Operation<DiscoverySpec>);

impl Discovery {
    pub fn new(issuer: &str, now: Timestamp) -> Result<Self, ConfigError> {
        Self::with_timing(issuer, Timing::default(), now)
    }

    pub fn with_timing(issuer: &str, timing: Timing, now: Timestamp) -> Result<Self, ConfigError> {
        let (spec, template) = DiscoverySpec::new(issuer)?;
        Ok(Discovery(Operation::new(spec, template, timing, now)))
    }
}

operation_methods!(Discovery, ServerMetadata);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        assert_eq!(
            discovery_urls("https://as.example.com/").unwrap(),
            [
                "https://as.example.com/.well-known/openid-configuration",
                "https://as.example.com/.well-known/oauth-authorization-server"
            ]
        );
        assert_eq!(
            discovery_urls("https://as.example.com/tenant/v2").unwrap(),
            [
                "https://as.example.com/tenant/v2/.well-known/openid-configuration",
                "https://as.example.com/.well-known/oauth-authorization-server/tenant/v2"
            ]
        );
        assert!(discovery_urls("https://as.example.com/?x=1").is_err());
        assert!(discovery_urls("http://as.example.com").is_err());
    }
}
