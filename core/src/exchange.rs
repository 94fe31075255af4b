//! One logical request with bounded retries: the engine behind discovery, the
//! device authorization request, refresh and revocation. Each of those supplies
//! a [`Spec`] that reads a classified reply; this module classifies each reply once,
//! retries transient ones and keeps the budget. It never touches the outbox: every
//! input returns a [`Step`], which the machine (or [`Operation`](crate::operation))
//! applies.
//!
//! The retries of one operation share one budget (`Timing::request_budget_ms`),
//! counted from its first `Send`: every `Send` carries what is left as `timeout_ms`,
//! and a retry whose wait (backoff or `Retry-After`) would end at or after the
//! budget's end is not attempted; the operation fails with `network_error` at once.

use crate::action::WaitReason;
use crate::config::Timing;
use crate::error::{ErrorCode, FlowError};
use crate::http::{HttpRequest, HttpResponse, Timestamp, TransportError};
use crate::outbox::{Next, Template};
use crate::pacer::Pacer;
use crate::wire::fields::Object;
use crate::wire::reply::{classify, OAuthError, Reply};

/// What an exchange does after an input.
pub(crate) enum Step<T> {
    /// Not finished: send (again, or elsewhere) or wait.
    Continue(Next),
    Done(T),
    Failed(FlowError),
}

/// What a reply means to the operation.
pub(crate) enum Verdict<T> {
    Done(T),
    Fail(FlowError),
    /// Transient: send the same request again after a backoff.
    Retry {
        retry_after_ms: Option<u64>,
    },
    /// Send a different request now (discovery falling back to the next document).
    FallBack(Template),
}

/// The answered request: the reply's HTTP status, and times.
#[derive(Clone, Copy)]
pub(crate) struct Answer {
    pub status: u16,
    /// When the answered request was handed out.
    pub sent_at: Timestamp,
    pub now: Timestamp,
}

/// How one operation reads its replies, one method per kind of reply
/// ([`classify`] sorts them, once, in [`Exchange::on_response`]).
pub(crate) trait Spec {
    type Output;
    /// What is being asked, for error messages ("the token endpoint").
    fn target(&self) -> &'static str;
    /// A 2xx object without an `error` field.
    fn on_success(&mut self, obj: Object, at: Answer) -> Verdict<Self::Output>;
    /// An OAuth error (RFC 6749 §5.2) that is not transient.
    fn on_oauth_error(&mut self, e: OAuthError, at: Answer) -> Verdict<Self::Output>;
    /// Malformed, oversized, or an unexpected status: fails by default.
    fn on_invalid(&mut self, e: FlowError, _at: Answer) -> Verdict<Self::Output> {
        Verdict::Fail(e)
    }
    /// 5xx, 429, 408 or `temporarily_unavailable`: retried by default.
    fn on_transient(&mut self, retry_after_ms: Option<u64>, _at: Answer) -> Verdict<Self::Output> {
        Verdict::Retry { retry_after_ms }
    }
    /// DPoP was turned on: a `DPoP` token type becomes acceptable.
    fn dpop_on(&mut self) {}
}

pub(crate) struct Exchange<S: Spec> {
    pub spec: S,
    template: Template,
    pacer: Pacer,
    timing: Timing,
    /// When the latest request was handed out.
    sent_at: Timestamp,
    /// When the budget runs out: fixed when the first request is handed out.
    budget_end: Option<Timestamp>,
}

impl<S: Spec> Exchange<S> {
    /// A new exchange, and its first request to schedule.
    pub fn start(spec: S, template: Template, timing: &Timing, now: Timestamp) -> (Self, Next) {
        let first = Next::Send(template.clone());
        let exchange = Exchange {
            spec,
            template,
            pacer: Pacer::one_shot(timing),
            timing: timing.clone(),
            sent_at: now,
            budget_end: None,
        };
        (exchange, first)
    }

    /// A request of this exchange is handed out: the budget starts at the first, and
    /// each carries the time left.
    pub fn on_send(&mut self, req: &mut HttpRequest, now: Timestamp) {
        let end = *self
            .budget_end
            .get_or_insert(now.plus(self.timing.request_budget_ms));
        req.timeout_ms = Some(end.since(now).max(1));
        self.sent_at = now;
    }

    /// A wait has ended: resend, unless the budget ran out meanwhile (a late wake-up).
    pub fn on_timer(&mut self, now: Timestamp) -> Step<S::Output> {
        if self.budget_end.is_some_and(|end| now >= end) {
            return Step::Failed(self.out_of_budget("the retry was due after it"));
        }
        Step::Continue(Next::Send(self.template.clone()))
    }

    pub fn on_response(&mut self, resp: &HttpResponse, now: Timestamp) -> Step<S::Output> {
        let at = Answer {
            status: resp.status,
            sent_at: self.sent_at,
            now,
        };
        let spec = &mut self.spec;
        let verdict = match classify(resp, self.timing.max_body_bytes) {
            Reply::Success(obj) => spec.on_success(obj, at),
            Reply::OAuth(e) => spec.on_oauth_error(e, at),
            Reply::Invalid(e) => spec.on_invalid(e, at),
            Reply::Transient { retry_after_ms, .. } => spec.on_transient(retry_after_ms, at),
        };
        match verdict {
            Verdict::Done(v) => Step::Done(v),
            Verdict::Fail(e) => Step::Failed(e),
            Verdict::Retry { retry_after_ms } => {
                self.retry(now, retry_after_ms, &format!("HTTP {}", resp.status))
            }
            Verdict::FallBack(template) => {
                if self.budget_end.is_some_and(|end| now >= end) {
                    let why = format!("{} was not tried", template.url);
                    return Step::Failed(self.out_of_budget(&why));
                }
                self.template = template;
                self.pacer = Pacer::one_shot(&self.timing);
                Step::Continue(Next::Send(self.template.clone()))
            }
        }
    }

    pub fn on_transport_error(&mut self, kind: TransportError, now: Timestamp) -> Step<S::Output> {
        self.retry(now, None, kind.as_str())
    }

    fn retry(
        &mut self,
        now: Timestamp,
        retry_after_ms: Option<u64>,
        what: &str,
    ) -> Step<S::Output> {
        let Some((delay, reason)) = self.pacer.transient(retry_after_ms, true) else {
            return Step::Failed(network_error(
                self.spec.target(),
                self.pacer.failures(),
                what,
            ));
        };
        let until = now.plus(delay);
        match self.budget_end {
            // Waiting past the budget only to fail then: fail now, and say why.
            Some(end) if until >= end => {
                let why = if reason == WaitReason::RetryAfter {
                    format!(
                        "last: {what}, and the server asked to retry in {} s",
                        delay.div_ceil(1000)
                    )
                } else {
                    format!("last: {what}")
                };
                Step::Failed(self.out_of_budget(&why))
            }
            _ => Step::Continue(Next::Wait { until, reason }),
        }
    }

    fn out_of_budget(&self, why: &str) -> FlowError {
        let attempts = self.pacer.failures();
        FlowError::new(
            ErrorCode::NetworkError,
            format!(
                "no answer from {} within {} s ({attempts} attempt{}; {why})",
                self.spec.target(),
                self.timing.request_budget_ms.div_ceil(1000),
                if attempts == 1 { "" } else { "s" },
            ),
        )
    }
}

pub(crate) fn network_error(target: &str, attempts: u32, last: &str) -> FlowError {
    FlowError::new(
        ErrorCode::NetworkError,
        format!("could not reach {target} after {attempts} attempts (last: {last})"),
    )
}

pub(crate) fn cancelled() -> FlowError {
    FlowError::new(ErrorCode::Cancelled, "the flow was cancelled")
}
