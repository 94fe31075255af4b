//! (b) The token endpoint's answer to a poll (RFC 8628 §3.5, RFC 6749 §5.1/§5.2):
//! a flow at its first poll (fixed valid device response) gets the fuzz body.

use deviceflow::{Action, WaitReason};
use crate::*;

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let (mut flow, poll, sent) = flow_at_first_poll();
    let interval = flow.interval_ms().unwrap();
    let deadline = flow.prompt().unwrap().expires_at;
    let now = sent.plus(80);
    flow.handle_response(poll.id, response_from_bytes(data), now)
        .unwrap();
    let action = flow.poll_action(now);
    check_action(&action);
    match &action {
        Action::Done(tokens) => {
            assert!(!tokens.access_token.expose().is_empty());
            assert!(!tokens.token_type.is_empty());
            if let Some(at) = tokens.expires_at {
                assert!(at >= now);
            }
            let shown = format!("{tokens:?}");
            if tokens.access_token.expose().len() >= 8 {
                assert!(
                    !shown.contains(tokens.access_token.expose()),
                    "token in Debug"
                );
            }
            check_finished(&mut flow, &action, now);
        }
        Action::Failed(_) => check_finished(&mut flow, &action, now),
        Action::Wait { until, reason, .. } => {
            // The interval never shrinks and the next poll is never early or late.
            assert!(flow.interval_ms().unwrap() >= interval);
            assert!(*until <= deadline);
            if *reason != WaitReason::Expiry {
                assert!(until.since(now) >= flow.interval_ms().unwrap());
            }
            let next = flow.poll_action(*until);
            if *reason == WaitReason::Expiry {
                let Action::Failed(e) = next else {
                    panic!("expected expiry, got {next:?}")
                };
                assert_eq!(e.code(), "expired_token");
                return;
            }
            let next = expect_send(next);
            assert_ne!(next.id, poll.id);
            assert!(*until < deadline);
            assert_eq!(next.body, poll.body, "every poll carries the same form");
        }
        other => panic!("unexpected {other:?} after a poll response"),
    }
}
