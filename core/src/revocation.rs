//! Token revocation (RFC 7009).

use crate::config::{check_endpoint, Client, Timing};
use crate::error::{ConfigError, FlowError};
use crate::exchange::{Operation, Spec, Template, Verdict};
use crate::http::{HttpResponse, RequestId, Timestamp};
use crate::secret::Secret;
use crate::wire::reply::{classify, Reply};
use crate::wire::request::form_post;
use serde::{Deserialize, Serialize};

/// Which kind of token is being revoked (RFC 7009 §2.1 `token_type_hint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

/// What a revocation needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationConfig {
    #[serde(flatten)]
    pub client: Client,
    pub revocation_endpoint: String,
    pub token: Secret,
    #[serde(default)]
    pub token_type_hint: Option<TokenTypeHint>,
    #[serde(default)]
    pub timing: Timing,
}

/// The token is revoked (or was never valid: RFC 7009 §2.2 treats both alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// HTTP status of the answer (200, or another 2xx such as 204).
    pub status: u16,
}

struct RevocationSpec;

impl Spec for RevocationSpec {
    type Output = Revoked;

    fn target(&self) -> &'static str {
        "the revocation endpoint"
    }

    fn interpret(
        &mut self,
        resp: &HttpResponse,
        _sent: Timestamp,
        _now: Timestamp,
        timing: &Timing,
    ) -> Verdict<Revoked> {
        // RFC 7009 §2.2: 200 means revoked, whatever the body says; any other
        // 2xx (204 No Content) without an OAuth error is success too.
        if resp.status == 200 {
            return Verdict::Done(Revoked { status: 200 });
        }
        let reply = classify(resp, timing.max_body_bytes);
        if (201..=299).contains(&resp.status) && !matches!(reply, Reply::OAuth(_)) {
            return Verdict::Done(Revoked {
                status: resp.status,
            });
        }
        match reply {
            Reply::Transient { retry_after_ms, .. } => Verdict::Retry { retry_after_ms },
            Reply::OAuth(e) => Verdict::Fail(e.into_flow_error("revocation refused")),
            Reply::Invalid(e) => Verdict::Fail(e),
            Reply::Success(_) => Verdict::Fail(FlowError::invalid_response(
                Some(resp.status),
                format!("revocation answered HTTP {} instead of 200", resp.status),
            )),
        }
    }
}

/// Revokes a token, sans-IO: one `Send`, then `Done(Revoked)` or `Failed`.
pub struct Revocation(Operation<RevocationSpec>);

impl Revocation {
    pub fn new(config: RevocationConfig, now: Timestamp) -> Result<Self, ConfigError> {
        config.client.validate()?;
        check_endpoint(&config.revocation_endpoint)?;
        let mut params = vec![("token", config.token.expose())];
        if let Some(hint) = config.token_type_hint {
            params.push((
                "token_type_hint",
                match hint {
                    TokenTypeHint::AccessToken => "access_token",
                    TokenTypeHint::RefreshToken => "refresh_token",
                },
            ));
        }
        let request = form_post(
            RequestId(0),
            &config.revocation_endpoint,
            &config.client,
            &params,
        );
        Ok(Revocation(Operation::new(
            RevocationSpec,
            Template::from_request(request),
            config.timing,
            now,
        )))
    }
}

operation_methods!(Revocation, Revoked);
