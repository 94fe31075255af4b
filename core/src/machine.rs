//! The device flow state machine. Every transition is in [`DeviceFlow::transition`],
//! one `match` over (state, input); `STATES.md` beside `src/` draws it.

use crate::action::{Action, Prompt, WaitReason};
use crate::authorization::Issued;
use crate::authorize::AuthorizeSpec;
use crate::backoff::Pacer;
use crate::conduit::{Conduit, Phase};
use crate::config::Config;
use crate::discovery::{DiscoverySpec, ServerMetadata, DEVICE_CODE_GRANT};
use crate::dpop::Dpop;
use crate::error::{ConfigError, ErrorCode, FlowError, MisuseError};
use crate::exchange::{cancelled, network_error, phase_action, Exchange, Template};
use crate::http::{HttpResponse, RequestId, Timestamp, TransportError};
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
    conduit: Conduit,
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
    /// Asking for a device code and user code (§3.1).
    Authorizing(Exchange<AuthorizeSpec>, String),
    /// Polling the token endpoint (§3.4, §3.5).
    Polling(Poll),
    Done(TokenSet),
    Failed(FlowError),
}

struct Poll {
    token_endpoint: String,
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
        let mut conduit = Conduit::new(now);
        if let Some(d) = &config.dpop {
            conduit.dpop = Some(Dpop::new(d.clone())?);
        }
        let state = match (
            &config.device_authorization_endpoint,
            &config.token_endpoint,
            &config.issuer,
        ) {
            (Some(device), Some(token), _) => authorize(&config, device, token, &mut conduit),
            (_, _, Some(issuer)) => {
                let (spec, template) = DiscoverySpec::new(issuer)?;
                State::Discovering(Exchange::start(
                    spec,
                    template,
                    &mut conduit,
                    &config.timing,
                ))
            }
            _ => unreachable!("validate() requires an issuer or both endpoints"),
        };
        Ok(DeviceFlow {
            config,
            conduit,
            state,
            unshown: None,
            prompt: None,
            metadata: None,
        })
    }

    /// The next thing to do. `Send` and `Display` come out once each; the other
    /// actions repeat until an input arrives or `now` passes a `Wait`'s `until`.
    /// (`Action` is `#[must_use]`.)
    pub fn poll_action(&mut self, now: Timestamp) -> Action {
        let now = self.conduit.clock(now);
        if self.conduit.wait_over(now) {
            self.step(Input::Timer);
        }
        self.tick_exchanges();
        match &self.state {
            State::Done(tokens) => return Action::Done(tokens.clone()),
            State::Failed(err) => return Action::Failed(err.clone()),
            _ => {}
        }
        if let Some(prompt) = self.unshown.take() {
            return Action::Display(prompt);
        }
        phase_action(&mut self.conduit)
    }

    /// Feeds the response (any HTTP status) to the request with this id.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        response: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        self.accept(id, now)?;
        if self.conduit.nonce_retry(&response) {
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
        self.conduit.clock(now);
        self.conduit.sign(id, signature)
    }

    /// The DPoP state (thumbprint, nonces learnt per server), when DPoP is on.
    pub fn dpop(&self) -> Option<&Dpop> {
        self.conduit.dpop.as_ref()
    }

    /// Stops the flow at once: the next action is `Failed` with code `cancelled`,
    /// and a response arriving later is refused as `finished` ([`MisuseError::Finished`]).
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
        self.check_open()?;
        self.conduit.clock(now);
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
            State::Polling(p) => Some(&p.token_endpoint),
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
            dpop: self.conduit.dpop.is_some(),
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
        self.conduit.accept(id)?;
        self.conduit.clock(now);
        Ok(())
    }

    fn tick_exchanges(&mut self) {
        match &mut self.state {
            State::Discovering(ex) => ex.tick(&mut self.conduit),
            State::Authorizing(ex, _) => ex.tick(&mut self.conduit),
            _ => {}
        }
    }

    fn step(&mut self, input: Input) {
        let state = std::mem::replace(&mut self.state, State::Failed(cancelled()));
        self.state = self.transition(state, input);
        if self.is_finished() {
            self.conduit.phase = Phase::Idle;
            self.unshown = None;
        }
    }

    /// Every transition of the machine.
    fn transition(&mut self, state: State, input: Input) -> State {
        let now = self.conduit.now;
        let timing = self.config.timing.clone();
        match (state, input) {
            (State::Done(_) | State::Failed(_), _) => {
                unreachable!("finished machines refuse input")
            }
            (_, Input::Cancel) => State::Failed(cancelled()),

            // ── Discovering ──
            (State::Discovering(mut ex), Input::Response(resp)) => {
                ex.on_response(&resp, &mut self.conduit, &timing);
                self.after_discovery(ex)
            }
            (State::Discovering(mut ex), Input::Transport(kind)) => {
                ex.on_transport_error(kind, &mut self.conduit);
                self.after_discovery(ex)
            }
            (State::Discovering(mut ex), Input::Timer) => {
                ex.on_timer(&mut self.conduit);
                self.after_discovery(ex)
            }

            // ── Authorizing ──
            (State::Authorizing(mut ex, token), Input::Response(resp)) => {
                ex.on_response(&resp, &mut self.conduit, &timing);
                self.after_authorization(ex, token)
            }
            (State::Authorizing(mut ex, token), Input::Transport(kind)) => {
                ex.on_transport_error(kind, &mut self.conduit);
                self.after_authorization(ex, token)
            }
            (State::Authorizing(mut ex, token), Input::Timer) => {
                ex.on_timer(&mut self.conduit);
                self.after_authorization(ex, token)
            }

            // ── Polling ──
            (State::Polling(poll), Input::Timer) => {
                if now >= poll.issued.deadline {
                    return State::Failed(client_expired());
                }
                let id = self.conduit.fresh_id();
                let params = [
                    ("grant_type", DEVICE_CODE_GRANT),
                    ("device_code", poll.issued.device_code.expose()),
                ];
                self.conduit.ready(form_post(
                    id,
                    &poll.token_endpoint,
                    &self.config.client,
                    &params,
                ));
                State::Polling(poll)
            }
            (State::Polling(mut poll), Input::Transport(kind)) => {
                match poll.pacer.transient(None, false) {
                    Some((delay, reason)) => self.wait_for_poll(poll, delay, reason),
                    None => State::Failed(network_error(
                        "the token endpoint",
                        poll.pacer.failures(),
                        kind.as_str(),
                    )),
                }
            }
            (State::Polling(mut poll), Input::Response(resp)) => {
                match classify(&resp, timing.max_body_bytes) {
                    Reply::Success(obj) => match parse_tokens(obj, now, self.token_types()) {
                        Ok(tokens) => State::Done(tokens),
                        Err(reason) => State::Failed(FlowError::invalid_response(
                            Some(resp.status),
                            format!("token response: {reason}"),
                        )),
                    },
                    Reply::OAuth(e) if e.error == "authorization_pending" => {
                        let (delay, reason) = poll.pacer.next_poll(e.retry_after_ms);
                        self.wait_for_poll(poll, delay, reason)
                    }
                    Reply::OAuth(e) if e.error == "slow_down" => {
                        poll.pacer.slow_down(e.interval_ms);
                        let (delay, reason) = poll.pacer.next_poll(e.retry_after_ms);
                        if let Some(p) = &mut self.prompt {
                            p.interval = poll.pacer.interval_ms().div_ceil(1000);
                        }
                        self.wait_for_poll(poll, delay, reason)
                    }
                    Reply::OAuth(e) if e.error == "expired_token" => State::Failed(
                        e.into_flow_error("the device code expired before it was approved"),
                    ),
                    Reply::OAuth(e) if e.error == "access_denied" => {
                        State::Failed(e.into_flow_error("the user denied the request"))
                    }
                    Reply::OAuth(e) => State::Failed(
                        e.into_flow_error("the token endpoint refused the device code"),
                    ),
                    Reply::Transient {
                        retry_after_ms,
                        status,
                    } => match poll.pacer.transient(retry_after_ms, false) {
                        Some((delay, reason)) => self.wait_for_poll(poll, delay, reason),
                        None => State::Failed(network_error(
                            "the token endpoint",
                            poll.pacer.failures(),
                            &format!("HTTP {status}"),
                        )),
                    },
                    Reply::Invalid(e) => State::Failed(e),
                }
            }
        }
    }

    fn after_discovery(&mut self, mut ex: Exchange<DiscoverySpec>) -> State {
        match ex.outcome.take() {
            None => State::Discovering(ex),
            Some(Err(e)) => State::Failed(e),
            Some(Ok(meta)) => {
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
                    (Some(device), Some(token)) => authorize(&self.config, &device, &token, &mut self.conduit),
                    (None, _) => State::Failed(FlowError::new(
                        ErrorCode::Unsupported,
                        format!("{} publishes no device_authorization_endpoint: it does not offer the device flow", self.config.issuer.as_deref().unwrap_or("the server")),
                    )),
                    (_, None) => State::Failed(FlowError::invalid_response(Some(200), "discovery document has no token_endpoint")),
                }
            }
        }
    }

    fn after_authorization(
        &mut self,
        mut ex: Exchange<AuthorizeSpec>,
        token_endpoint: String,
    ) -> State {
        match ex.outcome.take() {
            None => State::Authorizing(ex, token_endpoint),
            Some(Err(e)) => State::Failed(e),
            Some(Ok(issued)) => {
                self.prompt = Some(issued.prompt.clone());
                self.unshown = Some(issued.prompt.clone());
                let mut pacer = Pacer::polling(issued.interval_ms, &self.config.timing);
                let (delay, reason) = pacer.next_poll(None);
                let poll = Poll {
                    token_endpoint,
                    issued,
                    pacer,
                };
                self.wait_for_poll(poll, delay, reason)
            }
        }
    }

    /// Waits `delay` before the next poll, clamped to the deadline (§3.5: no
    /// request at or after it; the flow then fails with `expired_token`).
    fn wait_for_poll(&mut self, poll: Poll, delay: u64, reason: WaitReason) -> State {
        let until = self.conduit.now.plus(delay);
        if until >= poll.issued.deadline {
            self.conduit.wait(poll.issued.deadline, WaitReason::Expiry);
        } else {
            self.conduit.wait(until, reason);
        }
        State::Polling(poll)
    }
}

fn authorize(config: &Config, device: &str, token: &str, conduit: &mut Conduit) -> State {
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(scope) = &config.scope {
        params.push(("scope", scope));
    }
    for p in &config.params {
        params.push((&p.name, &p.value));
    }
    if config.dpop.as_ref().is_some_and(|d| !d.device_request) {
        conduit.exempt = Some(device.to_owned());
    }
    let request = form_post(RequestId(0), device, &config.client, &params);
    let spec = AuthorizeSpec {
        endpoint: device.to_owned(),
    };
    State::Authorizing(
        Exchange::start(
            spec,
            Template::from_request(request),
            conduit,
            &config.timing,
        ),
        token.to_owned(),
    )
}

fn client_expired() -> FlowError {
    FlowError::new(
        ErrorCode::ExpiredToken,
        "the device code expired before it was approved (client-side deadline)",
    )
}
