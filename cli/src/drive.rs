//! The driving loop from the core's crate docs, shared by every operation:
//! poll, do what the action says, feed the answer back, poll again.

use crate::clock::Clock;
use crate::interrupt;
use crate::transport::Transport;
use deviceflow::{
    Action, Discovery, FlowError, HttpRequest, HttpResponse, MisuseError, Prompt, Refresh,
    RequestId, Revocation, SoftwareKey, Timestamp, TransportError, WaitReason,
};
use std::sync::mpsc;
use std::time::Duration;

/// The sans-IO surface every core operation shares.
pub trait Operation {
    type Output;
    /// Whether Ctrl-C may abandon a request in flight. Not a refresh: the server may
    /// already have rotated the refresh token, and only its answer carries the new one
    /// (the request still ends by its deadline).
    const ABANDON_ON_INTERRUPT: bool = true;
    fn poll_action(&mut self, now: Timestamp) -> Action<Self::Output>;
    fn handle_response(
        &mut self,
        id: RequestId,
        resp: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError>;
    fn handle_transport_error(
        &mut self,
        id: RequestId,
        kind: TransportError,
        now: Timestamp,
    ) -> Result<(), MisuseError>;
    fn handle_signature(
        &mut self,
        id: RequestId,
        signature: &[u8],
        now: Timestamp,
    ) -> Result<(), MisuseError>;
    fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError>;
    /// The polling interval in force, in ms (device flow only: it grows with `slow_down`).
    fn interval_ms(&self) -> Option<u64> {
        None
    }
}

macro_rules! operation {
    ($ty:ty, $out:ty $(, abandon_on_interrupt = $abandon:expr)? $(, interval = $interval:ident)?) => {
        impl Operation for $ty {
            type Output = $out;
            $(const ABANDON_ON_INTERRUPT: bool = $abandon;)?
            $(fn interval_ms(&self) -> Option<u64> {
                <$ty>::$interval(self)
            })?
            fn poll_action(&mut self, now: Timestamp) -> Action<$out> {
                <$ty>::poll_action(self, now)
            }
            fn handle_response(
                &mut self,
                id: RequestId,
                resp: HttpResponse,
                now: Timestamp,
            ) -> Result<(), MisuseError> {
                <$ty>::handle_response(self, id, resp, now)
            }
            fn handle_transport_error(
                &mut self,
                id: RequestId,
                kind: TransportError,
                now: Timestamp,
            ) -> Result<(), MisuseError> {
                <$ty>::handle_transport_error(self, id, kind, now)
            }
            fn handle_signature(
                &mut self,
                id: RequestId,
                signature: &[u8],
                now: Timestamp,
            ) -> Result<(), MisuseError> {
                <$ty>::handle_signature(self, id, signature, now)
            }
            fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
                <$ty>::cancel(self, now)
            }
        }
    };
}
operation!(
    deviceflow::DeviceFlow,
    deviceflow::TokenSet,
    interval = interval_ms
);
operation!(Discovery, deviceflow::ServerMetadata);
operation!(Refresh, deviceflow::TokenSet, abandon_on_interrupt = false);
operation!(Revocation, deviceflow::Revoked);

/// What the loop reports to its observer while it runs.
pub enum Event<'a> {
    /// Show the code to the user (device flow only, once).
    Prompt(&'a Prompt),
    /// A request is about to go out.
    Sending,
    /// Nothing to do until `until`; called about once a second while waiting.
    Waiting {
        until: Timestamp,
        now: Timestamp,
        reason: WaitReason,
        /// True for the first tick of this wait (right after a response).
        first: bool,
        /// The polling interval in force (ms), while polling.
        interval_ms: Option<u64>,
    },
}

/// Runs `op` to completion. The observer sees prompts and waits; Ctrl-C cancels.
pub fn run<O: Operation>(
    op: &mut O,
    clock: &Clock,
    transport: &Transport,
    observe: impl FnMut(Event<'_>),
) -> Result<O::Output, FlowError> {
    run_with_key(op, None, clock, transport, observe)
}

/// [`run`] for an operation with DPoP on: `key` signs each proof the core asks for.
pub fn run_with_key<O: Operation>(
    op: &mut O,
    key: Option<&SoftwareKey>,
    clock: &Clock,
    transport: &Transport,
    mut observe: impl FnMut(Event<'_>),
) -> Result<O::Output, FlowError> {
    let mut last_wait: Option<Timestamp> = None;
    loop {
        let now = clock.now();
        if interrupt::requested() {
            // Ignoring the result: `finished` just means the outcome is already known.
            let _ = op.cancel(now);
        }
        match op.poll_action(now) {
            Action::Send(req) => {
                observe(Event::Sending);
                let id = req.id;
                let sent = if O::ABANDON_ON_INTERRUPT {
                    send_interruptibly(transport, req)
                } else {
                    Some(transport.send(&req))
                };
                let Some(result) = sent else {
                    // Ctrl-C while the request was in flight: the core cancels, and
                    // refuses the answer should it still come (it is not awaited).
                    let _ = op.cancel(clock.now());
                    continue;
                };
                let now = clock.now();
                let fed = match result {
                    Ok(resp) => op.handle_response(id, resp, now),
                    Err(kind) => op.handle_transport_error(id, kind, now),
                };
                fed.expect("the request id was just handed out");
            }
            Action::Display(prompt) => observe(Event::Prompt(&prompt)),
            Action::Sign { id, input } => match key {
                Some(key) => op
                    .handle_signature(id, &key.sign(input.as_bytes()), clock.now())
                    .expect("a raw ES256 signature for the Sign just handed out"),
                // DPoP is only turned on with a key; without one, stop rather than spin.
                None => {
                    let _ = op.cancel(clock.now());
                }
            },
            Action::Wait { until, reason, .. } => {
                let first = last_wait != Some(until);
                last_wait = Some(until);
                observe(Event::Waiting {
                    until,
                    now,
                    reason,
                    first,
                    interval_ms: op.interval_ms(),
                });
                let left = until.since(clock.now());
                // Wake at least once a second for the countdown (and Ctrl-C).
                interrupt::sleep(Duration::from_millis(left.clamp(1, 1000)));
            }
            Action::AwaitingResponse { .. } => {
                unreachable!("this loop answers every request before polling again")
            }
            Action::Done(out) => return Ok(out),
            Action::Failed(err) => return Err(err),
        }
    }
}

/// Sends on a worker thread and waits for it, checking for Ctrl-C every 100 ms, so a
/// server that hangs holds the user no longer than that (the deadline still ends the
/// request otherwise). `None`: interrupted; the worker is left to finish or to end
/// with the process.
fn send_interruptibly(
    transport: &Transport,
    req: HttpRequest,
) -> Option<Result<HttpResponse, TransportError>> {
    let (tx, rx) = mpsc::channel();
    let worker = transport.clone();
    std::thread::spawn(move || {
        let _ = tx.send(worker.send(&req));
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return Some(result),
            Err(mpsc::RecvTimeoutError::Timeout) if interrupt::requested() => return None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The worker panicked: report it like any other failure without an answer.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Some(Err(TransportError::Other)),
        }
    }
}
