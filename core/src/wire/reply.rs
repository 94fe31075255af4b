//! Reading a server reply: body limits, JSON or form bodies, OAuth errors
//! (RFC 6749 §5.2) recognised by their `error` field whatever the HTTP status.

use super::fields::{opt_seconds_ms, opt_str, Object};
use crate::display::clean_text;
use crate::error::{ErrorCode, FlowError};
use crate::http::HttpResponse;

/// What a reply means, before the operation interprets a success.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A 2xx JSON (or form) object without an `error` field.
    Success(Object),
    /// A body with an `error` string, at any status (GitHub answers errors with 200).
    OAuth(OAuthError),
    /// 5xx/429/408 without an OAuth error: try again later.
    Transient {
        retry_after_ms: Option<u64>,
        status: u16,
    },
    /// Anything else: malformed, oversized, or an unexpected status.
    Invalid(FlowError),
}

/// An RFC 6749 §5.2 error body. Text fields are already cleaned for display.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub error: String,
    pub description: Option<String>,
    pub uri: Option<String>,
    /// `interval` in the body (GitHub sends the new interval with `slow_down`), in ms.
    pub interval_ms: Option<u64>,
    pub retry_after_ms: Option<u64>,
    pub status: u16,
}

impl OAuthError {
    /// `temporarily_unavailable` (any status) and `server_error` with a 5xx status
    /// say "try later" (RFC 6749 §4.1.2.1), so they are treated as transient.
    pub fn is_transient(&self) -> bool {
        self.error == "temporarily_unavailable"
            || (self.error == "server_error" && self.status >= 500)
    }

    pub fn into_flow_error(self, message: &str) -> FlowError {
        let code = ErrorCode::from_oauth(&self.error);
        let mut text = format!("{message}: {}", self.error);
        if let Some(d) = &self.description {
            text.push_str(" (");
            text.push_str(d);
            text.push(')');
        }
        FlowError {
            code,
            message: text,
            error: Some(self.error),
            error_description: self.description,
            error_uri: self.uri,
            status: Some(self.status),
        }
    }
}

fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// Classifies a reply. `limit` bounds the body size.
pub(crate) fn classify(resp: &HttpResponse, limit: usize) -> Reply {
    let status = resp.status;
    let retry_after_ms = retry_after_ms(resp);
    if !(100..=599).contains(&status) {
        return Reply::Invalid(FlowError::invalid_response(
            Some(status),
            format!("HTTP status {status} is not valid"),
        ));
    }
    if resp.body.len() > limit {
        if is_transient_status(status) {
            return Reply::Transient {
                retry_after_ms,
                status,
            };
        }
        return Reply::Invalid(FlowError::invalid_response(
            Some(status),
            format!(
                "response body of {} bytes exceeds the {limit}-byte limit",
                resp.body.len()
            ),
        ));
    }
    let object = parse_object(resp);
    if let Ok(obj) = &object {
        match oauth_error(obj, status, retry_after_ms) {
            Ok(Some(err)) if err.is_transient() => {
                return Reply::Transient {
                    retry_after_ms: err.retry_after_ms,
                    status,
                }
            }
            Ok(Some(err)) => return Reply::OAuth(err),
            Ok(None) => {}
            Err(reason) => {
                return Reply::Invalid(FlowError::invalid_response(Some(status), reason))
            }
        }
    }
    if is_transient_status(status) {
        return Reply::Transient {
            retry_after_ms,
            status,
        };
    }
    match (status, object) {
        (200..=299, Ok(obj)) => Reply::Success(obj),
        (200..=299, Err(reason)) => {
            Reply::Invalid(FlowError::invalid_response(Some(status), reason))
        }
        (_, _) => Reply::Invalid(FlowError::invalid_response(
            Some(status),
            format!("unexpected HTTP {status} without an OAuth error body"),
        )),
    }
}

fn oauth_error(
    obj: &Object,
    status: u16,
    retry_after_ms: Option<u64>,
) -> Result<Option<OAuthError>, String> {
    let Some(error) = opt_str(obj, "error")? else {
        return Ok(None);
    };
    if error.is_empty() || error.len() > 128 || !error.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("error code is empty, too long or not printable ASCII".into());
    }
    // Lenient on the optional fields: a malformed description must not hide the error.
    let description = opt_str(obj, "error_description")
        .ok()
        .flatten()
        .map(clean_text);
    let uri = opt_str(obj, "error_uri").ok().flatten().map(clean_text);
    let interval_ms = opt_seconds_ms(obj, "interval").ok().flatten();
    Ok(Some(OAuthError {
        error: error.to_owned(),
        description,
        uri,
        interval_ms,
        retry_after_ms,
        status,
    }))
}

/// JSON by default; form-urlencoded when the server says so (GitHub without
/// `Accept: application/json`) or sends `text/plain` that is not JSON.
pub(crate) fn parse_object(resp: &HttpResponse) -> Result<Object, String> {
    let ctype = resp
        .header("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let text =
        std::str::from_utf8(&resp.body).map_err(|_| "response body is not UTF-8".to_string())?;
    if super::find(&ctype, "application/x-www-form-urlencoded").is_some() {
        return Ok(parse_form(text));
    }
    match crate::json::parse(text) {
        Ok(crate::json::Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(format!(
            "response body is {}, not a JSON object",
            other.kind()
        )),
        Err(_)
            if ctype.starts_with("text/plain")
                && text.contains('=')
                && !text.trim_start().starts_with('{') =>
        {
            Ok(parse_form(text))
        }
        Err(e) if text.trim().is_empty() => Err(format!("response body is empty ({e})")),
        Err(e) => Err(format!("response body is not valid JSON ({e})")),
    }
}

fn parse_form(text: &str) -> Object {
    form_urlencoded::parse(text.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), crate::json::Value::String(v.into_owned())))
        .collect()
}

/// `Retry-After` as delta-seconds (RFC 9110 §10.2.3). HTTP-dates need a wall
/// clock, which the machine does not have, so they are ignored.
fn retry_after_ms(resp: &HttpResponse) -> Option<u64> {
    let value = resp.header("retry-after")?.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: too many for u64 is simply "very long" (callers cap it).
    let secs: u64 = value.parse().unwrap_or(u64::MAX);
    Some(secs.saturating_mul(1000))
}
