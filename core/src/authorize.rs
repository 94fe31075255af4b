//! Reading the device authorization response (RFC 8628 §3.1-3.2) as an exchange.

use crate::authorization::{parse_issued, Issued};
use crate::config::Timing;
use crate::error::{ErrorCode, FlowError};
use crate::exchange::{Spec, Verdict};
use crate::http::{HttpResponse, Timestamp};
use crate::wire::reply::{classify, Reply};

pub(crate) struct AuthorizeSpec {
    pub endpoint: String,
}

impl Spec for AuthorizeSpec {
    type Output = Issued;

    fn target(&self) -> &'static str {
        "the device authorization endpoint"
    }

    fn interpret(
        &mut self,
        resp: &HttpResponse,
        sent_at: Timestamp,
        _now: Timestamp,
        timing: &Timing,
    ) -> Verdict<Issued> {
        match classify(resp, timing.max_body_bytes) {
            Reply::Success(obj) => match parse_issued(&obj, sent_at, timing) {
                Ok(issued) => Verdict::Done(issued),
                Err(reason) => Verdict::Fail(FlowError::invalid_response(
                    Some(resp.status),
                    format!("device authorization response: {reason}"),
                )),
            },
            Reply::OAuth(e) => Verdict::Fail(e.into_flow_error("device authorization refused")),
            Reply::Transient { retry_after_ms, .. } => Verdict::Retry { retry_after_ms },
            Reply::Invalid(_) if matches!(resp.status, 404 | 405 | 501) => {
                Verdict::Fail(FlowError {
                    status: Some(resp.status),
                    ..FlowError::new(
                        ErrorCode::Unsupported,
                        format!(
                            "{} answered HTTP {}: the server offers no device flow there",
                            self.endpoint, resp.status
                        ),
                    )
                })
            }
            Reply::Invalid(e) => Verdict::Fail(e),
        }
    }
}
