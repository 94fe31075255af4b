//! A standalone operation: one [`Exchange`] with its own [`Outbox`], behind the public
//! [`Discovery`](crate::Discovery), [`Refresh`](crate::Refresh) and
//! [`Revocation`](crate::Revocation) (their methods come from `operation_methods!`).
//!
//! Control flow goes one way, as in [`DeviceFlow`](crate::DeviceFlow): each input asks
//! the exchange for a [`Step`] and [`Operation::apply`] writes it, the one writer of
//! the outbox's phase and of the outcome; `poll_action` only reads them (and hands out
//! a ready request once).

use crate::action::Action;
use crate::config::Timing;
use crate::dpop::Dpop;
use crate::error::{FlowError, MisuseError};
use crate::exchange::{cancelled, Exchange, Spec, Step};
use crate::http::{HttpResponse, RequestId, Timestamp, TransportError};
use crate::outbox::{Next, Outbox, Template};

pub(crate) struct Operation<S: Spec> {
    outbox: Outbox,
    exchange: Exchange<S>,
    /// Set once, when the exchange finishes or is cancelled.
    outcome: Option<Result<S::Output, FlowError>>,
}

impl<S: Spec> Operation<S>
where
    S::Output: Clone,
{
    pub fn new(spec: S, template: Template, timing: Timing, now: Timestamp) -> Self {
        let mut outbox = Outbox::new(now);
        let (exchange, first) = Exchange::start(spec, template, &timing, now);
        outbox.schedule(first);
        Operation {
            outbox,
            exchange,
            outcome: None,
        }
    }

    pub fn poll_action(&mut self, now: Timestamp) -> Action<S::Output> {
        let now = self.outbox.clock(now);
        if self.outbox.wait_over(now) {
            let step = self.exchange.on_timer(now);
            self.apply(step);
        }
        match &self.outcome {
            Some(Ok(v)) => return Action::Done(v.clone()),
            Some(Err(e)) => return Action::Failed(e.clone()),
            None => {}
        }
        if let Some(mut req) = self.outbox.take_ready() {
            self.exchange.on_send(&mut req, now);
            return Action::Send(req);
        }
        self.outbox.action()
    }

    pub fn handle_response(
        &mut self,
        id: RequestId,
        resp: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        let now = self.accept(id, now)?;
        if self.outbox.nonce_retry(&resp) {
            return Ok(()); // resent at once with the server's DPoP nonce
        }
        let step = self.exchange.on_response(&resp, now);
        self.apply(step);
        Ok(())
    }

    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        kind: TransportError,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        let now = self.accept(id, now)?;
        let step = self.exchange.on_transport_error(kind, now);
        self.apply(step);
        Ok(())
    }

    pub fn handle_signature(
        &mut self,
        id: RequestId,
        signature: &[u8],
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.check_open()?;
        self.outbox.clock(now);
        self.outbox.sign(id, signature)
    }

    pub fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
        self.check_open()?;
        self.outbox.clock(now);
        self.apply(Step::Failed(cancelled()));
        Ok(())
    }

    /// Turns DPoP on before the first request goes out.
    pub fn set_dpop(&mut self, dpop: Dpop) {
        self.outbox.set_dpop(dpop);
        self.exchange.spec.dpop_on();
    }

    pub fn dpop(&self) -> Option<&Dpop> {
        self.outbox.dpop()
    }

    pub fn is_finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// The operation's reader, to adjust before the first answer arrives.
    pub fn spec_mut(&mut self) -> &mut S {
        &mut self.exchange.spec
    }

    /// Writes what an input led to: the next request or wait, or the outcome.
    fn apply(&mut self, step: Step<S::Output>) {
        let next = match step {
            Step::Continue(next) => next,
            Step::Done(v) => {
                self.outcome = Some(Ok(v));
                Next::Stop
            }
            Step::Failed(e) => {
                self.outcome = Some(Err(e));
                Next::Stop
            }
        };
        self.outbox.schedule(next);
    }

    /// An answer to request `id` is acceptable: returns `now`, clamped.
    fn accept(&mut self, id: RequestId, now: Timestamp) -> Result<Timestamp, MisuseError> {
        self.check_open()?;
        self.outbox.check_answer(id)?;
        Ok(self.outbox.clock(now))
    }

    fn check_open(&self) -> Result<(), MisuseError> {
        if self.is_finished() {
            Err(MisuseError::Finished)
        } else {
            Ok(())
        }
    }
}
