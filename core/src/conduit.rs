//! Request bookkeeping shared by every operation: ids, the one request in
//! flight, the current wait. It knows nothing of OAuth.

use crate::action::WaitReason;
use crate::dpop::Dpop;
use crate::error::MisuseError;
use crate::http::{Header, HttpRequest, HttpResponse, Method, RequestId, Timestamp};

#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Nothing scheduled (before the first request, or finished).
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
pub(crate) struct Conduit {
    next_id: u64,
    pub phase: Phase,
    /// The latest `now` seen; time never goes backwards inside the machine.
    pub now: Timestamp,
    /// DPoP proofs and nonces, when the host gave a key.
    pub dpop: Option<Dpop>,
    /// A URL whose requests carry no proof (the device endpoint, when so configured).
    pub exempt: Option<String>,
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

impl Conduit {
    pub fn new(now: Timestamp) -> Self {
        Conduit {
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

    pub fn fresh_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Queues a request; with DPoP on, a POST first waits for its proof's signature.
    pub fn ready(&mut self, req: HttpRequest) {
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

    /// Turns DPoP on; a request already queued is re-queued to get its proof.
    pub fn set_dpop(&mut self, dpop: Dpop, exempt: Option<String>) {
        self.dpop = Some(dpop);
        self.exempt = exempt;
        if let Phase::Ready(req) = std::mem::replace(&mut self.phase, Phase::Idle) {
            self.ready(req);
        }
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
        self.ready(req);
        true
    }

    pub fn wait(&mut self, until: Timestamp, reason: WaitReason) {
        self.phase = Phase::Waiting { until, reason };
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

    /// Accepts an answer to request `id`, which must be the one in flight.
    pub fn accept(&mut self, id: RequestId) -> Result<(), MisuseError> {
        match self.phase {
            Phase::InFlight(current) if current == id => {
                self.phase = Phase::Idle;
                Ok(())
            }
            _ => Err(MisuseError::UnknownRequest(id.0)),
        }
    }

    /// True when a wait has elapsed at `now`.
    pub fn wait_over(&self, now: Timestamp) -> bool {
        matches!(self.phase, Phase::Waiting { until, .. } if now >= until)
    }
}
