//! The device flow state machine. Every transition is in [`DeviceFlow::transition`],
//! one `match` over (state, input); `STATES.md` beside `src/` draws it.
//!
//! Control flow goes one way, down (as quinn-proto's `handle_*` and str0m's
//! `handle_input`): each input (`handle_response`, `handle_transport_error`, `cancel`,
//! or `poll_action` finding a wait over) becomes an [`Input`] for [`DeviceFlow::step`].
//! `transition` returns the next state and what the outbox does next ([`Next`]);
//! `step` writes both, the one writer of each. An exchange (discovery, the device
//! authorization request) returns a [`Step`] and writes nothing outside itself.
//! `poll_action` then reads what is queued: a `Display` once, a ready request once
//! (stamped with its exchange's budget), or the repeated wait, sign or await.
//! Outside the `match`, only the outbox itself moves: `handle_signature` (a request
//! gets its DPoP proof) and a `use_dpop_nonce` resend, which the machine never sees.

use crate::action::{Action, Prompt, WaitReason};
use crate::authorization::{AuthorizationSpec, Issued};
use crate::config::Config;
use crate::discovery::{DiscoverySpec, ServerMetadata, DEVICE_CODE_GRANT};
use crate::dpop::Dpop;
use crate::error::{ConfigError, ErrorCode, FlowError, MisuseError};
use crate::exchange::{cancelled, network_error, Exchange, Step};
use crate::http::{HttpResponse, RequestId, Timestamp, TransportError};
use crate::outbox::{Next, Outbox, Template};
use crate::pacer::Pacer;
use crate::tokens::TokenSet;
use crate::wire::reply::{classify, Reply};
use crate::wire::request::form_post;
use crate::wire::token::{parse_tokens, TokenTypes};

/// A sans-IO OAuth 2.0 device authorization grant client (RFC 8628).
///
/// Drive it with [`poll_action`](Self::poll_action); feed answers with the
/// `handle_*` methods. See the crate docs for the loop.
pub struct DeviceFlow {
    config: Config,
    outbox: Outbox,
    state: State,
    /// A prompt not yet handed out by `Action::Display` (edge-triggered).
    unshown: Option<Prompt>,
    /// The current prompt (level-triggered view).
    prompt: Option<Prompt>,
    metadata: Option<ServerMetadata>,
}

enum State {
    /// Fetching the issuer's metadata (only when endpoints were not given).
    Discovering(Exchange<DiscoverySpec>),
    /// Asking for a device code and user code (§3.1); then polling the token endpoint.
    Authorizing(Exchange<AuthorizationSpec>, String),
    /// Polling the token endpoint (§3.4, §3.5).
    Polling(Poll),
    Done(TokenSet),
    Failed(FlowError),
}

struct Poll {
    /// The token request (§3.4), the same on every poll; its `url` is the token endpoint.
    request: Template,
    issued: Issued,
    pacer: Pacer,
}

/// One input to the machine.
enum Input {
    Response(HttpResponse),
    Transport(TransportError),
    /// A wait has ended (`now >= until`).
    Timer,
    Cancel,
}

impl DeviceFlow {
    /// A new flow. The first action is a `Send`: discovery when only an issuer
    /// was given, else the device authorization request.
    pub fn new(config: Config, now: Timestamp) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut outbox = Outbox::new(now);
        if let Some(d) = &config.dpop {
            outbox.set_dpop(Dpop::new(d.clone())?);
        }
        let discovery = match (
            &config.device_authorization_endpoint,
            &config.token_endpoint,
            &config.issuer,
        ) {
            (Some(_), Some(_), _) => None,
            (_, _, Some(issuer)) => Some(DiscoverySpec::new(issuer)?),
            _ => unreachable!("validate() requires an issuer or both endpoints"),
        };
        let mut flow = DeviceFlow {
            config,
            outbox,
            state: State::Failed(cancelled()),
            unshown: None,
            prompt: None,
            metadata: None,
        };
        let endpoints = (
            flow.config.device_authorization_endpoint.clone(),
            flow.config.token_endpoint.clone(),
        );
        let (state, first) = match (discovery, endpoints) {
            (Some((spec, template)), _) => {
                let (ex, first) = Exchange::start(spec, template, &flow.config.timing, now);
                (State::Discovering(ex), first)
            }
            (None, (Some(device), Some(token))) => flow.authorize(&device, token),
            (None, _) => unreachable!("both endpoints, or discovery"),
        };
        flow.state = state;
        flow.outbox.schedule(first);
        Ok(flow)
    }

    /// The next thing to do. `Send` and `Display` come out once each; the other
    /// actions repeat until an input arrives or `now` passes a `Wait`'s `until`.
    /// (`Action` is `#[must_use]`.)
    pub fn poll_action(&mut self, now: Timestamp) -> Action {
        let now = self.outbox.clock(now);
        if self.outbox.wait_over(now) {
            self.step(Input::Timer);
        }
        match &self.state {
            State::Done(tokens) => return Action::Done(tokens.clone()),
            State::Failed(err) => return Action::Failed(err.clone()),
            _ => {}
        }
        if let Some(prompt) = self.unshown.take() {
            return Action::Display(prompt);
        }
        if let Some(mut req) = self.outbox.take_ready() {
            match &mut self.state {
                State::Discovering(ex) => ex.on_send(&mut req, now),
                State::Authorizing(ex, _) => ex.on_send(&mut req, now),
                _ => {}
            }
            return Action::Send(req);
        }
        self.outbox.action()
    }

    /// Feeds the response (any HTTP status) to the request with this id.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        response: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.accept(id, now)?;
        if self.outbox.nonce_retry(&response) {
            return Ok(()); // resent at once with the server's DPoP nonce
        }
        self.step(Input::Response(response));
        Ok(())
    }

    /// The request with this id got no HTTP response (RFC 8628 §3.5 backoff).
    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        kind: TransportError,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.accept(id, now)?;
        self.step(Input::Transport(kind));
        Ok(())
    }

    /// The DPoP signature asked for by `Action::Sign` with this id: ES256 over the
    /// input's bytes, raw `r||s` (64 bytes) or DER. The `Send` follows.
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

    /// The DPoP state (thumbprint, nonces learnt per server), when DPoP is on.
    pub fn dpop(&self) -> Option<&Dpop> {
        self.outbox.dpop()
    }

    /// Stops the flow at once: the next action is `Failed` with code `cancelled`,
    /// and a response arriving later is refused as `finished` ([`MisuseError::Finished`]).
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
        self.check_open()?;
        self.outbox.clock(now);
        self.step(Input::Cancel);
        Ok(())
    }

    /// What to show the user, once the server has issued a code.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// The discovered metadata, when the flow started from an issuer.
    pub fn metadata(&self) -> Option<&ServerMetadata> {
        self.metadata.as_ref()
    }

    /// The polling interval in force, in ms (grows with `slow_down`).
    pub fn interval_ms(&self) -> Option<u64> {
        match &self.state {
            State::Polling(p) => Some(p.pacer.interval_ms()),
            _ => None,
        }
    }

    /// The token endpoint in use, once known.
    pub fn token_endpoint(&self) -> Option<&str> {
        match &self.state {
            State::Polling(p) => Some(&p.request.url),
            State::Authorizing(_, token) => Some(token),
            _ => self.config.token_endpoint.as_deref(),
        }
    }

    /// The configuration this flow runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `"discovering" | "authorizing" | "polling" | "done" | "failed"`.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Discovering(_) => "discovering",
            State::Authorizing(..) => "authorizing",
            State::Polling(_) => "polling",
            State::Done(_) => "done",
            State::Failed(_) => "failed",
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done(_) | State::Failed(_))
    }

    fn token_types(&self) -> TokenTypes<'_> {
        TokenTypes {
            dpop: self.outbox.dpop().is_some(),
            extra: &self.config.extra_token_types,
        }
    }

    fn check_open(&self) -> Result<(), MisuseError> {
        if self.is_finished() {
            Err(MisuseError::Finished)
        } else {
            Ok(())
        }
    }

    fn accept(&mut self, id: RequestId, now: Timestamp) -> Result<(), MisuseError> {
        self.check_open()?;
        self.outbox.check_answer(id)?;
        self.outbox.clock(now);
        Ok(())
    }

    /// Runs one input through `transition` and writes what it returns: the state, and
    /// the outbox's next request or wait (`Next::Stop` once finished).
    fn step(&mut self, input: Input) {
        let state = std::mem::replace(&mut self.state, State::Failed(cancelled()));
        let (state, next) = self.transition(state, input);
        debug_assert_eq!(
            matches!(state, State::Done(_) | State::Failed(_)),
            matches!(next, Next::Stop),
            "a finished machine stops the outbox, and only it does"
        );
        self.state = state;
        self.outbox.schedule(next);
    }

    /// Every transition of the machine.
    fn transition(&mut self, state: State, input: Input) -> (State, Next) {
        let now = self.outbox.now();
        match (state, input) {
            (State::Done(_) | State::Failed(_), _) => {
                unreachable!("finished machines refuse input")
            }
            (_, Input::Cancel) => failed(cancelled()),

            // ── Discovering ──
            (State::Discovering(mut ex), Input::Response(resp)) => {
                let step = ex.on_response(&resp, now);
                self.discovering(ex, step)
            }
            (State::Discovering(mut ex), Input::Transport(kind)) => {
                let step = ex.on_transport_error(kind, now);
                self.discovering(ex, step)
            }
            (State::Discovering(mut ex), Input::Timer) => {
                let step = ex.on_timer(now);
                self.discovering(ex, step)
            }

            // ── Authorizing ──
            (State::Authorizing(mut ex, token), Input::Response(resp)) => {
                let step = ex.on_response(&resp, now);
                self.authorizing(ex, token, step)
            }
            (State::Authorizing(mut ex, token), Input::Transport(kind)) => {
                let step = ex.on_transport_error(kind, now);
                self.authorizing(ex, token, step)
            }
            (State::Authorizing(mut ex, token), Input::Timer) => {
                let step = ex.on_timer(now);
                self.authorizing(ex, token, step)
            }

            // ── Polling ──
            (State::Polling(poll), Input::Timer) => {
                if now >= poll.issued.deadline {
                    return failed(client_expired());
                }
                let next = Next::Send(poll.request.clone());
                (State::Polling(poll), next)
            }
            (State::Polling(mut poll), Input::Transport(kind)) => {
                match poll.pacer.transient(None, false) {
                    Some((delay, reason)) => wait_for_poll(poll, now, delay, reason),
                    None => failed(network_error(
                        "the token endpoint",
                        poll.pacer.failures(),
                        kind.as_str(),
                    )),
                }
            }
            (State::Polling(mut poll), Input::Response(resp)) => {
                match classify(&resp, self.config.timing.max_body_bytes) {
                    Reply::Success(obj) => match parse_tokens(obj, now, self.token_types()) {
                        Ok(tokens) => (State::Done(tokens), Next::Stop),
                        Err(reason) => failed(FlowError::invalid_response(
                            Some(resp.status),
                            format!("token response: {reason}"),
                        )),
                    },
                    Reply::OAuth(e) if e.error == "authorization_pending" => {
                        let (delay, reason) = poll.pacer.next_poll(e.retry_after_ms);
                        wait_for_poll(poll, now, delay, reason)
                    }
                    Reply::OAuth(e) if e.error == "slow_down" => {
                        poll.pacer.slow_down(e.interval_ms);
                        let (delay, reason) = poll.pacer.next_poll(e.retry_after_ms);
                        if let Some(p) = &mut self.prompt {
                            p.interval = poll.pacer.interval_ms().div_ceil(1000);
                        }
                        wait_for_poll(poll, now, delay, reason)
                    }
                    Reply::OAuth(e) if e.error == "expired_token" => {
                        failed(e.into_flow_error("the device code expired before it was approved"))
                    }
                    Reply::OAuth(e) if e.error == "access_denied" => {
                        failed(e.into_flow_error("the user denied the request"))
                    }
                    Reply::OAuth(e) => {
                        failed(e.into_flow_error("the token endpoint refused the device code"))
                    }
                    Reply::Transient {
                        retry_after_ms,
                        status,
                    } => match poll.pacer.transient(retry_after_ms, false) {
                        Some((delay, reason)) => wait_for_poll(poll, now, delay, reason),
                        None => failed(network_error(
                            "the token endpoint",
                            poll.pacer.failures(),
                            &format!("HTTP {status}"),
                        )),
                    },
                    Reply::Invalid(e) => failed(e),
                }
            }
        }
    }

    /// Where discovery's step leads: on, to the device authorization request, or `Failed`.
    fn discovering(
        &mut self,
        ex: Exchange<DiscoverySpec>,
        step: Step<ServerMetadata>,
    ) -> (State, Next) {
        let meta = match step {
            Step::Continue(next) => return (State::Discovering(ex), next),
            Step::Failed(e) => return failed(e),
            Step::Done(meta) => meta,
        };
        let device = self
            .config
            .device_authorization_endpoint
            .clone()
            .or(meta.device_authorization_endpoint.clone());
        let token = self
            .config
            .token_endpoint
            .clone()
            .or(meta.token_endpoint.clone());
        self.metadata = Some(meta);
        match (device, token) {
            (Some(device), Some(token)) => self.authorize(&device, token),
            (None, _) => failed(FlowError::new(
                ErrorCode::Unsupported,
                format!("{} publishes no device_authorization_endpoint: it does not offer the device flow", self.config.issuer.as_deref().unwrap_or("the server")),
            )),
            (_, None) => failed(FlowError::invalid_response(Some(200), "discovery document has no token_endpoint")),
        }
    }

    /// Starts the device authorization request to `device`; `token` is polled after it.
    fn authorize(&mut self, device: &str, token: String) -> (State, Next) {
        if self.config.dpop.as_ref().is_some_and(|d| !d.device_request) {
            self.outbox.exempt(device);
        }
        let (spec, template) = AuthorizationSpec::new(&self.config, device);
        let (ex, first) = Exchange::start(spec, template, &self.config.timing, self.outbox.now());
        (State::Authorizing(ex, token), first)
    }

    /// Where the device authorization request's step leads: on, to `Polling` (the
    /// prompt is shown once, then the first wait), or `Failed`.
    fn authorizing(
        &mut self,
        ex: Exchange<AuthorizationSpec>,
        token_endpoint: String,
        step: Step<Issued>,
    ) -> (State, Next) {
        let issued = match step {
            Step::Continue(next) => return (State::Authorizing(ex, token_endpoint), next),
            Step::Failed(e) => return failed(e),
            Step::Done(issued) => issued,
        };
        self.prompt = Some(issued.prompt.clone());
        self.unshown = Some(issued.prompt.clone());
        let mut pacer = Pacer::polling(issued.interval_ms, &self.config.timing);
        let (delay, reason) = pacer.next_poll(None);
        let params = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", issued.device_code.expose()),
        ];
        let request = form_post(RequestId(0), &token_endpoint, &self.config.client, &params);
        let poll = Poll {
            request: Template::from_request(request),
            issued,
            pacer,
        };
        wait_for_poll(poll, self.outbox.now(), delay, reason)
    }
}

fn failed(e: FlowError) -> (State, Next) {
    (State::Failed(e), Next::Stop)
}

/// Waits `delay` before the next poll, clamped to the deadline (§3.5: no request
/// at or after it; the flow then fails with `expired_token`).
fn wait_for_poll(poll: Poll, now: Timestamp, delay: u64, reason: WaitReason) -> (State, Next) {
    let until = now.plus(delay);
    let next = if until >= poll.issued.deadline {
        Next::Wait {
            until: poll.issued.deadline,
            reason: WaitReason::Expiry,
        }
    } else {
        Next::Wait { until, reason }
    };
    (State::Polling(poll), next)
}

fn client_expired() -> FlowError {
    FlowError::new(
        ErrorCode::ExpiredToken,
        "the device code expired before it was approved (client-side deadline)",
    )
}
