//! (a) The device authorization response (RFC 8628 §3.2): any status, content
//! type and body as the answer to the first request, then the flow is driven on.

use deviceflow::{Action, DeviceFlow};
use crate::*;

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let resp = response_from_bytes(data);
    let device_code = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("device_code")?.as_str().map(str::to_owned));
    let mut flow = DeviceFlow::new(config(), START).unwrap();
    let req = expect_send(flow.poll_action(START));
    let mut now = START.plus(50);
    flow.handle_response(req.id, resp, now).unwrap();
    let mut displays = 0;
    // Enough steps for a retry or two, the prompt, and the first poll.
    for _ in 0..8 {
        let action = flow.poll_action(now);
        check_action(&action);
        match action {
            Action::Display(p) => {
                displays += 1;
                // The deadline counts from the send of the device request (START).
                assert!(
                    p.expires_at > START && p.expires_at < START.plus(p.expires_in * 1000 + 1000)
                );
            }
            Action::Wait { until, .. } => {
                if let Some(p) = flow.prompt() {
                    assert!(until <= p.expires_at, "waits past the deadline");
                }
                now = until;
            }
            Action::Send(poll) if poll.url == TOKEN_URL => {
                assert_eq!(displays, 1, "polling before the user saw the code");
                assert!(now < flow.prompt().unwrap().expires_at);
                if let Some(code) = &device_code {
                    check_redacted(&poll, code);
                }
                flow.handle_response(poll.id, json_response(200, TOKEN_BODY.as_bytes()), now)
                    .unwrap();
            }
            Action::Send(retry) => {
                assert_eq!(retry.url, DEVICE_URL);
                flow.handle_response(retry.id, json_response(503, b""), now)
                    .unwrap();
            }
            Action::AwaitingResponse { .. } | Action::Sign { .. } => panic!("every Send was answered"),
            done @ (Action::Done(_) | Action::Failed(_)) => {
                check_finished(&mut flow, &done, now);
                return;
            }
        }
    }
}
