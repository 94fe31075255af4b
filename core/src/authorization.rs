//! The device authorization request (RFC 8628 §3.1) as an exchange, and its
//! response (§3.2), validated for display.

use crate::action::Prompt;
use crate::config::{Config, Timing};
use crate::display::{check_secure_url, check_user_code, clean_text};
use crate::error::{ErrorCode, FlowError};
use crate::exchange::{Answer, Spec, Verdict};
use crate::http::{RequestId, Timestamp};
use crate::outbox::Template;
use crate::secret::Secret;
use crate::wire::fields::{opt_seconds_ms, opt_str, req_str, Object};
use crate::wire::reply::OAuthError;
use crate::wire::request::form_post;

/// Longest device code accepted (it is sent back on every poll).
const MAX_DEVICE_CODE_LEN: usize = 4096;

/// A validated device authorization: the secret to poll with and what to show.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub device_code: Secret,
    pub prompt: Prompt,
    pub interval_ms: u64,
    /// Send time of the device request + `expires_in` (the conservative deadline).
    pub deadline: Timestamp,
}

/// Reads the device authorization response.
pub(crate) struct AuthorizationSpec {
    endpoint: String,
    timing: Timing,
}

impl AuthorizationSpec {
    /// The request to the device authorization endpoint `device` (§3.1), and its reader.
    pub fn new(config: &Config, device: &str) -> (Self, Template) {
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(scope) = &config.scope {
            params.push(("scope", scope));
        }
        for p in &config.params {
            params.push((&p.name, &p.value));
        }
        let request = form_post(RequestId(0), device, &config.client, &params);
        let spec = AuthorizationSpec {
            endpoint: device.to_owned(),
            timing: config.timing.clone(),
        };
        (spec, Template::from_request(request))
    }
}

impl Spec for AuthorizationSpec {
    type Output = Issued;

    fn target(&self) -> &'static str {
        "the device authorization endpoint"
    }

    fn on_success(&mut self, obj: Object, at: Answer) -> Verdict<Issued> {
        match parse_issued(&obj, at.sent_at, &self.timing) {
            Ok(issued) => Verdict::Done(issued),
            Err(reason) => Verdict::Fail(FlowError::invalid_response(
                Some(at.status),
                format!("device authorization response: {reason}"),
            )),
        }
    }

    fn on_oauth_error(&mut self, e: OAuthError, _at: Answer) -> Verdict<Issued> {
        Verdict::Fail(e.into_flow_error("device authorization refused"))
    }

    /// 404 or 405 without an OAuth error: no device flow at that URL. (501 is a 5xx,
    /// transient, and retried before it could get here.)
    fn on_invalid(&mut self, e: FlowError, at: Answer) -> Verdict<Issued> {
        if !matches!(at.status, 404 | 405) {
            return Verdict::Fail(e);
        }
        Verdict::Fail(FlowError {
            status: Some(at.status),
            ..FlowError::new(
                ErrorCode::Unsupported,
                format!(
                    "{} answered HTTP {}: the server offers no device flow there",
                    self.endpoint, at.status
                ),
            )
        })
    }
}

/// Validates the response. `sent_at` is when the device request was sent: the
/// server's clock started no earlier, so the deadline is never late.
pub(crate) fn parse_issued(
    obj: &Object,
    sent_at: Timestamp,
    timing: &Timing,
) -> Result<Issued, String> {
    let device_code = req_str(obj, "device_code")?;
    if device_code.len() > MAX_DEVICE_CODE_LEN || !device_code.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err("device_code is too long or not printable ASCII".into());
    }
    let user_code = req_str(obj, "user_code")?;
    check_user_code(user_code)?;
    // Google sends `verification_url` (golang/oauth2#666).
    let verification_uri = match opt_str(obj, "verification_uri")? {
        Some(u) => u,
        None => opt_str(obj, "verification_url")?.ok_or("verification_uri is missing")?,
    };
    let host = check_secure_url(verification_uri)
        .map_err(|e| format!("verification_uri: {e}"))?
        .host
        .to_ascii_lowercase();
    let complete = opt_str(obj, "verification_uri_complete")?.filter(|s| !s.is_empty());
    if let Some(c) = complete {
        let parts = check_secure_url(c).map_err(|e| format!("verification_uri_complete: {e}"))?;
        // A code-carrying link to another site is a phishing shape (RFC 8628 §5.4).
        if !parts.host.eq_ignore_ascii_case(&host) {
            return Err(
                "verification_uri_complete points at a different host than verification_uri".into(),
            );
        }
    }
    let expires_in_ms = opt_seconds_ms(obj, "expires_in")?.ok_or("expires_in is missing")?;
    if expires_in_ms == 0 {
        return Err("expires_in must be greater than 0".into());
    }
    if expires_in_ms > timing.max_expires_in_s * 1000 {
        return Err(format!(
            "expires_in over {} s is not credible",
            timing.max_expires_in_s
        ));
    }
    let interval_ms = match opt_seconds_ms(obj, "interval")? {
        None | Some(0) => timing.default_interval_ms,
        Some(ms) if ms > timing.max_interval_s * 1000 => {
            return Err(format!(
                "interval over {} s is not credible",
                timing.max_interval_s
            ))
        }
        // Sub-second values are not credible as "seconds between polls": poll no
        // faster than once a second (what the prompt then says, too).
        Some(ms) => ms.max(1_000),
    };
    let message = opt_str(obj, "message")
        .ok()
        .flatten()
        .map(clean_text)
        .filter(|m| !m.is_empty());
    let deadline = sent_at.plus(expires_in_ms);
    Ok(Issued {
        device_code: Secret::new(device_code),
        prompt: Prompt {
            user_code: user_code.to_owned(),
            verification_uri: verification_uri.to_owned(),
            verification_uri_complete: complete.map(str::to_owned),
            verification_host: host,
            expires_at: deadline,
            expires_in: expires_in_ms.div_ceil(1000),
            interval: interval_ms.div_ceil(1000),
            message,
        },
        interval_ms,
        deadline,
    })
}
