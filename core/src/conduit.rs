//! Request bookkeeping shared by every operation: ids, the one request in
//! flight, the current wait. It knows nothing of OAuth.

use crate::action::WaitReason;
use crate::error::MisuseError;
use crate::http::{HttpRequest, RequestId, Timestamp};

#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Nothing scheduled (before the first request, or finished).
    Idle,
    /// A request waiting to be handed out by `Action::Send` (once).
    Ready(HttpRequest),
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
}

impl Conduit {
    pub fn new(now: Timestamp) -> Self {
        Conduit {
            next_id: 1,
            phase: Phase::Idle,
            now,
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

    pub fn ready(&mut self, req: HttpRequest) {
        self.phase = Phase::Ready(req);
    }

    pub fn wait(&mut self, until: Timestamp, reason: WaitReason) {
        self.phase = Phase::Waiting { until, reason };
    }

    /// Hands out the ready request once; it is then in flight.
    pub fn take_ready(&mut self) -> Option<HttpRequest> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Ready(req) => {
                self.phase = Phase::InFlight(req.id);
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
