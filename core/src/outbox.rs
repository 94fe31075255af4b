//! The one outgoing request, or the wait before the next: request ids, the request
//! being signed, handed out or awaited, and DPoP proofs and nonce retries. It knows
//! nothing of OAuth; the machine tells it what comes next with a [`Next`].

use crate::action::{Action, WaitReason};
use crate::dpop::Dpop;
use crate::error::{ErrorCode, FlowError, MisuseError};
use crate::http::{Header, HttpRequest, HttpResponse, Method, RequestId, Timestamp};

/// A request without an id: the outbox gives each (re)send a fresh one.
#[derive(Clone)]
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

    fn into_request(self, id: RequestId) -> HttpRequest {
        HttpRequest {
            id,
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
            timeout_ms: None,
        }
    }
}

/// What the outbox does after an input: the one write of its phase.
pub(crate) enum Next {
    /// Queue this request under a fresh id (with DPoP on, a POST is signed first).
    Send(Template),
    /// Nothing to do before `until`.
    Wait {
        until: Timestamp,
        reason: WaitReason,
    },
    /// Nothing more: the machine has finished.
    Stop,
}

#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Nothing scheduled: the machine has finished.
    Idle,
    /// A request waiting to be handed out by `Action::Send` (once).
    Ready(HttpRequest),
    /// A request waiting for its DPoP proof's signature (`Action::Sign`, repeated).
    Signing { req: HttpRequest, input: String },
    /// Handed out; its response is awaited.
    InFlight(RequestId),
    /// Nothing to do before `until`.
    Waiting {
        until: Timestamp,
        reason: WaitReason,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    next_id: u64,
    phase: Phase,
    /// The latest `now` seen; time never goes backwards inside the machine.
    now: Timestamp,
    /// DPoP proofs and nonces, when the host gave a key.
    dpop: Option<Dpop>,
    /// A URL whose requests carry no proof (the device endpoint, when so configured).
    exempt: Option<String>,
    /// The request in flight as built (without its proof), for a nonce retry.
    sent: Option<Sent>,
    /// The next request handed out is a nonce retry (one per request).
    retrying: bool,
}

#[derive(Clone, Debug)]
struct Sent {
    req: HttpRequest,
    proved: bool,
    retried: bool,
}

impl Outbox {
    pub fn new(now: Timestamp) -> Self {
        Outbox {
            next_id: 1,
            phase: Phase::Idle,
            now,
            dpop: None,
            exempt: None,
            sent: None,
            retrying: false,
        }
    }

    /// Records `now`, clamped so it never goes backwards.
    pub fn clock(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn dpop(&self) -> Option<&Dpop> {
        self.dpop.as_ref()
    }

    /// Turns DPoP on; a request already queued is re-queued to get its proof.
    pub fn set_dpop(&mut self, dpop: Dpop) {
        self.dpop = Some(dpop);
        if let Phase::Ready(req) = std::mem::replace(&mut self.phase, Phase::Idle) {
            self.queue(req);
        }
    }

    /// Requests to this URL carry no DPoP proof (set before the request is scheduled).
    pub fn exempt(&mut self, url: &str) {
        self.exempt = Some(url.to_owned());
    }

    /// What comes next, after an input (or at the start).
    pub fn schedule(&mut self, next: Next) {
        match next {
            Next::Send(template) => {
                let id = self.fresh_id();
                self.queue(template.into_request(id));
            }
            Next::Wait { until, reason } => self.phase = Phase::Waiting { until, reason },
            Next::Stop => self.phase = Phase::Idle,
        }
    }

    fn fresh_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Queues a request; with DPoP on, a POST first waits for its proof's signature.
    fn queue(&mut self, req: HttpRequest) {
        let now = self.now;
        let exempt = self.exempt.as_deref() == Some(req.url.as_str());
        self.phase = match &mut self.dpop {
            Some(dpop) if req.method == Method::Post && !exempt => {
                let input = dpop.signing_input(req.method.as_str(), &req.url, None, now);
                Phase::Signing { req, input }
            }
            _ => Phase::Ready(req),
        };
    }

    /// The host's signature for request `id`'s proof: attach it, then it is ready to send.
    pub fn sign(&mut self, id: RequestId, signature: &[u8]) -> Result<(), MisuseError> {
        match &mut self.phase {
            Phase::Signing { req, input } if req.id == id => {
                let proof = Dpop::proof(input, signature)?;
                let mut req = req.clone();
                req.headers.push(Header::new("dpop", proof));
                self.phase = Phase::Ready(req);
                Ok(())
            }
            _ => Err(MisuseError::UnknownRequest(id.0)),
        }
    }

    /// Before a response reaches the machine: records its `DPoP-Nonce`, and when it
    /// asks for a proof with that nonce (`use_dpop_nonce`), re-queues the request at
    /// once with a fresh proof (once per request) and returns true: the machine then
    /// never sees the answer, so the retry costs no poll interval.
    pub fn nonce_retry(&mut self, resp: &HttpResponse) -> bool {
        let (Some(dpop), Some(sent)) = (&mut self.dpop, self.sent.take()) else {
            return false;
        };
        let wants_retry = dpop.handle_response(&sent.req.url, resp);
        if !wants_retry || !sent.proved || sent.retried {
            return false;
        }
        let mut req = sent.req;
        req.id = self.fresh_id();
        self.retrying = true;
        self.queue(req);
        true
    }

    /// Hands out the ready request once; it is then in flight.
    pub fn take_ready(&mut self) -> Option<HttpRequest> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Ready(req) => {
                self.phase = Phase::InFlight(req.id);
                if self.dpop.is_some() {
                    let mut plain = req.clone();
                    let before = plain.headers.len();
                    plain
                        .headers
                        .retain(|h| !h.name.eq_ignore_ascii_case("dpop"));
                    self.sent = Some(Sent {
                        proved: plain.headers.len() != before,
                        req: plain,
                        retried: std::mem::take(&mut self.retrying),
                    });
                }
                Some(req)
            }
            other => {
                self.phase = other;
                None
            }
        }
    }

    /// Checks that an answer is for request `id`, the one in flight. The phase stays
    /// as it is: what the answer leads to is scheduled next.
    pub fn check_answer(&self, id: RequestId) -> Result<(), MisuseError> {
        match self.phase {
            Phase::InFlight(current) if current == id => Ok(()),
            _ => Err(MisuseError::UnknownRequest(id.0)),
        }
    }

    /// True when a wait has elapsed at `now`.
    pub fn wait_over(&self, now: Timestamp) -> bool {
        matches!(self.phase, Phase::Waiting { until, .. } if now >= until)
    }

    /// The action while no request is ready to hand out and the machine is not finished.
    pub fn action<T>(&self) -> Action<T> {
        match &self.phase {
            Phase::Signing { req, input } => Action::Sign {
                id: req.id,
                input: input.clone(),
            },
            Phase::InFlight(id) => Action::AwaitingResponse { id: *id },
            Phase::Waiting { until, reason } => Action::Wait {
                until: *until,
                delay_ms: until.since(self.now),
                reason: *reason,
            },
            // Unreachable by construction: every unfinished state has a request or a wait,
            // and a ready request is handed out before this is asked.
            Phase::Idle | Phase::Ready(_) => Action::Failed(FlowError::new(
                ErrorCode::InvalidResponse,
                "internal: no pending step",
            )),
        }
    }
}
