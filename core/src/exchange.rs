//! One logical request with bounded retries: the engine behind discovery, the
//! device authorization request, refresh and revocation. Each of those supplies
//! a [`Spec`] that reads the reply; this module does ids, retries and waits.
//!
//! The retries of one operation share one budget (`Timing::request_budget_ms`),
//! counted from its first `Send`: every `Send` carries what is left as `timeout_ms`,
//! and a retry whose wait (backoff or `Retry-After`) would end at or after the
//! budget's end is not attempted; the operation fails with `network_error` at once.

use crate::action::{Action, WaitReason};
use crate::backoff::Pacer;
use crate::conduit::{Conduit, Phase};
use crate::config::Timing;
use crate::dpop::Dpop;
use crate::error::{ErrorCode, FlowError, MisuseError};
use crate::http::{
    Header, HttpRequest, HttpResponse, Method, RequestId, Timestamp, TransportError,
};

/// A request without an id; each (re)send gets a fresh one.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub method: Method,
    pub url: String,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl Template {
    pub fn from_request(req: HttpRequest) -> Self {
        Template {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        }
    }
    pub fn to_request(&self, id: RequestId) -> HttpRequest {
        HttpRequest {
            id,
            method: self.method,
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            timeout_ms: None,
        }
    }
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
    Next(Template),
}

pub(crate) trait Spec {
    type Output: Clone;
    /// What is being asked, for error messages ("the token endpoint").
    fn target(&self) -> &'static str;
    /// Reads a reply. `sent_at` is when the answered request was handed out.
    fn interpret(
        &mut self,
        resp: &HttpResponse,
        sent_at: Timestamp,
        now: Timestamp,
        timing: &Timing,
    ) -> Verdict<Self::Output>;
    /// DPoP was turned on: a `DPoP` token type becomes acceptable.
    fn dpop_on(&mut self) {}
}

pub(crate) struct Exchange<S: Spec> {
    pub spec: S,
    template: Template,
    pacer: Pacer,
    sent_at: Timestamp,
    budget_ms: u64,
    /// When the budget runs out: fixed when the first request is handed out.
    budget_end: Option<Timestamp>,
    pub outcome: Option<Result<S::Output, FlowError>>,
}

impl<S: Spec> Exchange<S> {
    /// Queues the first request on `conduit` at once.
    pub fn start(spec: S, template: Template, conduit: &mut Conduit, timing: &Timing) -> Self {
        let id = conduit.fresh_id();
        conduit.ready(template.to_request(id));
        Exchange {
            spec,
            template,
            pacer: Pacer::one_shot(timing),
            sent_at: conduit.now,
            budget_ms: timing.request_budget_ms,
            budget_end: None,
            outcome: None,
        }
    }

    /// A wait has ended: resend, unless the budget ran out meanwhile (a late wake-up).
    pub fn on_timer(&mut self, conduit: &mut Conduit) {
        if self.outcome.is_some() || !conduit.wait_over(conduit.now) {
            return;
        }
        if self.budget_end.is_some_and(|end| conduit.now >= end) {
            conduit.phase = Phase::Idle;
            self.outcome = Some(Err(self.out_of_budget("the retry was due after it")));
            return;
        }
        let id = conduit.fresh_id();
        conduit.ready(self.template.to_request(id));
    }

    /// Call before handing out a request: starts the budget at the first one, and
    /// stamps the request with its send time and the time left.
    pub fn tick(&mut self, conduit: &mut Conduit) {
        let now = conduit.now;
        if let Phase::Ready(req) = &mut conduit.phase {
            let end = *self.budget_end.get_or_insert(now.plus(self.budget_ms));
            req.timeout_ms = Some(end.since(now).max(1));
            self.sent_at = now;
        }
    }

    pub fn on_response(&mut self, resp: &HttpResponse, conduit: &mut Conduit, timing: &Timing) {
        let now = conduit.now;
        match self.spec.interpret(resp, self.sent_at, now, timing) {
            Verdict::Done(v) => self.outcome = Some(Ok(v)),
            Verdict::Fail(e) => self.outcome = Some(Err(e)),
            Verdict::Retry { retry_after_ms } => {
                self.retry(conduit, retry_after_ms, &format!("HTTP {}", resp.status))
            }
            Verdict::Next(template) => {
                if self.budget_end.is_some_and(|end| now >= end) {
                    let why = format!("{} was not tried", template.url);
                    self.outcome = Some(Err(self.out_of_budget(&why)));
                    return;
                }
                self.template = template;
                self.pacer = Pacer::one_shot(timing);
                let id = conduit.fresh_id();
                conduit.ready(self.template.to_request(id));
                self.sent_at = now;
            }
        }
    }

    pub fn on_transport_error(&mut self, kind: TransportError, conduit: &mut Conduit) {
        self.retry(conduit, None, kind.as_str());
    }

    fn retry(&mut self, conduit: &mut Conduit, retry_after_ms: Option<u64>, what: &str) {
        match self.pacer.transient(retry_after_ms, true) {
            Some((delay, reason)) => {
                let until = conduit.now.plus(delay);
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
                        self.outcome = Some(Err(self.out_of_budget(&why)));
                    }
                    _ => conduit.wait(until, reason),
                }
            }
            None => {
                self.outcome = Some(Err(network_error(
                    self.spec.target(),
                    self.pacer.failures(),
                    what,
                )));
            }
        }
    }

    fn out_of_budget(&self, why: &str) -> FlowError {
        let attempts = self.pacer.failures();
        FlowError::new(
            ErrorCode::NetworkError,
            format!(
                "no answer from {} within {} s ({attempts} attempt{}; {why})",
                self.spec.target(),
                self.budget_ms.div_ceil(1000),
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

/// A whole operation: one [`Exchange`] with its own [`Conduit`]. The public
/// `Discovery`, `Refresh` and `Revocation` wrap this.
pub(crate) struct Operation<S: Spec> {
    conduit: Conduit,
    exchange: Exchange<S>,
    timing: Timing,
}

impl<S: Spec> Operation<S> {
    pub fn new(spec: S, template: Template, timing: Timing, now: Timestamp) -> Self {
        let mut conduit = Conduit::new(now);
        let exchange = Exchange::start(spec, template, &mut conduit, &timing);
        Operation {
            conduit,
            exchange,
            timing,
        }
    }

    pub fn poll_action(&mut self, now: Timestamp) -> Action<S::Output> {
        self.conduit.clock(now);
        self.exchange.on_timer(&mut self.conduit);
        self.exchange.tick(&mut self.conduit);
        if let Some(outcome) = &self.exchange.outcome {
            return match outcome {
                Ok(v) => Action::Done(v.clone()),
                Err(e) => Action::Failed(e.clone()),
            };
        }
        phase_action(&mut self.conduit)
    }

    pub fn handle_response(
        &mut self,
        id: RequestId,
        resp: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.check_open()?;
        self.conduit.accept(id)?;
        self.conduit.clock(now);
        if self.conduit.nonce_retry(&resp) {
            return Ok(());
        }
        self.exchange
            .on_response(&resp, &mut self.conduit, &self.timing);
        Ok(())
    }

    pub fn handle_signature(
        &mut self,
        id: RequestId,
        signature: &[u8],
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.check_open()?;
        self.conduit.clock(now);
        self.conduit.sign(id, signature)
    }

    /// Turns DPoP on before the first request goes out.
    pub fn set_dpop(&mut self, dpop: Dpop) {
        self.conduit.set_dpop(dpop, None);
        self.exchange.spec.dpop_on();
    }

    pub fn dpop(&self) -> Option<&Dpop> {
        self.conduit.dpop.as_ref()
    }

    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        kind: TransportError,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.check_open()?;
        self.conduit.accept(id)?;
        self.conduit.clock(now);
        self.exchange.on_transport_error(kind, &mut self.conduit);
        Ok(())
    }

    pub fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
        self.check_open()?;
        self.conduit.clock(now);
        self.conduit.phase = Phase::Idle;
        self.exchange.outcome = Some(Err(cancelled()));
        Ok(())
    }

    pub fn is_finished(&self) -> bool {
        self.exchange.outcome.is_some()
    }

    /// The operation's reader, to adjust before the first answer arrives.
    pub fn spec_mut(&mut self) -> &mut S {
        &mut self.exchange.spec
    }

    fn check_open(&self) -> Result<(), MisuseError> {
        if self.is_finished() {
            Err(MisuseError::Finished)
        } else {
            Ok(())
        }
    }
}

pub(crate) fn cancelled() -> FlowError {
    FlowError::new(ErrorCode::Cancelled, "the flow was cancelled")
}

/// The action for a conduit that is neither finished nor displaying.
pub(crate) fn phase_action<T>(conduit: &mut Conduit) -> Action<T> {
    if let Some(req) = conduit.take_ready() {
        return Action::Send(req);
    }
    match &conduit.phase {
        Phase::Signing { req, input } => Action::Sign {
            id: req.id,
            input: input.clone(),
        },
        Phase::InFlight(id) => Action::AwaitingResponse { id: *id },
        Phase::Waiting { until, reason } => Action::Wait {
            until: *until,
            delay_ms: until.since(conduit.now),
            reason: *reason,
        },
        // Unreachable by construction: every unfinished state has a request or a wait.
        Phase::Idle | Phase::Ready(_) => Action::Failed(FlowError::new(
            ErrorCode::InvalidResponse,
            "internal: no pending step",
        )),
    }
}
