//! Refreshing an access token (RFC 6749 §6), with refresh token rotation.

use crate::config::{check_endpoint, Client, Timing};
use crate::error::{ConfigError, FlowError};
use crate::exchange::{Answer, Spec, Verdict};
use crate::http::{RequestId, Timestamp};
use crate::operation::Operation;
use crate::outbox::Template;
use crate::secret::Secret;
use crate::tokens::TokenSet;
use crate::wire::fields::Object;
use crate::wire::reply::OAuthError;
use crate::wire::request::form_post;
use crate::wire::token::{parse_tokens, TokenTypes};
use serde::{Deserialize, Serialize};

/// What a refresh needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshConfig {
    #[serde(flatten)]
    pub client: Client,
    pub token_endpoint: String,
    pub refresh_token: Secret,
    /// Narrower scope to ask for; `None` keeps the granted scope (RFC 6749 §6).
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub timing: Timing,
}

struct RefreshSpec {
    refresh_token: Secret,
    extra_token_types: Vec<String>,
    dpop: bool,
}

impl Spec for RefreshSpec {
    type Output = TokenSet;

    fn target(&self) -> &'static str {
        "the token endpoint"
    }

    fn dpop_on(&mut self) {
        self.dpop = true;
    }

    fn on_success(&mut self, obj: Object, at: Answer) -> Verdict<TokenSet> {
        match parse_tokens(obj, at.now, self.token_types()) {
            Ok(mut tokens) => {
                // No new refresh token means the old one stays valid (RFC 6749 §6).
                if tokens.refresh_token.is_none() {
                    tokens.refresh_token = Some(self.refresh_token.clone());
                }
                Verdict::Done(tokens)
            }
            Err(reason) => Verdict::Fail(FlowError::invalid_response(
                Some(at.status),
                format!("token response: {reason}"),
            )),
        }
    }

    fn on_oauth_error(&mut self, e: OAuthError, _at: Answer) -> Verdict<TokenSet> {
        if e.error == "invalid_grant" {
            let mut err = e.into_flow_error("the refresh token was refused");
            err.message.push_str("; log in again");
            return Verdict::Fail(err);
        }
        Verdict::Fail(e.into_flow_error("refresh failed"))
    }
}

impl RefreshSpec {
    fn token_types(&self) -> TokenTypes<'_> {
        TokenTypes {
            dpop: self.dpop,
            extra: &self.extra_token_types,
        }
    }
}

/// Exchanges a refresh token for new tokens, sans-IO: a `Send` (again after a
/// transient failure, within the request budget), then `Done` or `Failed`.
/// `Failed` with code `invalid_grant` means the user must log in again.
pub struct Refresh(Operation<RefreshSpec>);

impl Refresh {
    pub fn new(config: RefreshConfig, now: Timestamp) -> Result<Self, ConfigError> {
        config.client.validate()?;
        check_endpoint(&config.token_endpoint)?;
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", config.refresh_token.expose()),
        ];
        if let Some(scope) = &config.scope {
            params.push(("scope", scope));
        }
        let request = form_post(
            RequestId(0),
            &config.token_endpoint,
            &config.client,
            &params,
        );
        let spec = RefreshSpec {
            refresh_token: config.refresh_token.clone(),
            extra_token_types: Vec::new(),
            dpop: false,
        };
        Ok(Refresh(Operation::new(
            spec,
            Template::from_request(request),
            config.timing,
            now,
        )))
    }
}

impl Refresh {
    /// Token types besides `Bearer` the host can use, as
    /// [`Config::extra_token_types`](crate::Config::extra_token_types) for a login.
    /// (A builder rather than a `RefreshConfig` field, so existing struct literals
    /// keep compiling; the bindings and vectors take it as `extra_token_types`.)
    pub fn with_extra_token_types(mut self, types: Vec<String>) -> Self {
        self.0.spec_mut().extra_token_types = types;
        self
    }
}

operation_methods!(Refresh, TokenSet);
