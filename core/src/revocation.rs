//! Token revocation (RFC 7009).

use crate::config::{check_endpoint, Client, Timing};
use crate::error::{ConfigError, FlowError};
use crate::exchange::{Answer, Spec, Verdict};
use crate::http::{RequestId, Timestamp};
use crate::operation::Operation;
use crate::outbox::Template;
use crate::secret::Secret;
use crate::wire::fields::Object;
use crate::wire::reply::OAuthError;
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

    // RFC 7009 §2.2: 200 means revoked, whatever the body says; any other 2xx (204
    // No Content) without an OAuth error is success too. Each kind of reply below
    // applies that rule first.

    fn on_success(&mut self, _obj: Object, at: Answer) -> Verdict<Revoked> {
        // Only a 2xx is a success.
        Verdict::Done(Revoked { status: at.status })
    }

    fn on_oauth_error(&mut self, e: OAuthError, at: Answer) -> Verdict<Revoked> {
        if at.status == 200 {
            return Verdict::Done(Revoked { status: 200 });
        }
        Verdict::Fail(e.into_flow_error("revocation refused"))
    }

    fn on_invalid(&mut self, e: FlowError, at: Answer) -> Verdict<Revoked> {
        if is_2xx(at.status) {
            return Verdict::Done(Revoked { status: at.status });
        }
        Verdict::Fail(e)
    }

    fn on_transient(&mut self, retry_after_ms: Option<u64>, at: Answer) -> Verdict<Revoked> {
        if is_2xx(at.status) {
            return Verdict::Done(Revoked { status: at.status });
        }
        Verdict::Retry { retry_after_ms }
    }
}

fn is_2xx(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// Revokes a token, sans-IO: a `Send` (again after a transient failure, within the
/// request budget), then `Done(Revoked)` or `Failed`.
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
