//! (d) Refresh (RFC 6749 §6) and revocation (RFC 7009 §2.2) responses.
//! Byte 0 picks the operation; the rest is the response (see `response_from_bytes`).

use deviceflow::{Action, Client, Refresh, RefreshConfig, Revocation, RevocationConfig, Secret};
use crate::*;

const OLD_REFRESH: &str = "old-refresh-token-8xLOxBtZp8";

fn drive<T: serde::Serialize + std::fmt::Debug>(
    mut poll: impl FnMut(deviceflow::Timestamp) -> Action<T>,
    mut answer: impl FnMut(deviceflow::RequestId, deviceflow::Timestamp),
) -> Action<T> {
    let mut now = START;
    let mut sends = 0;
    loop {
        let action = poll(now);
        check_action(&action);
        match action {
            Action::Send(req) => {
                sends += 1;
                assert!(sends <= 3, "one-shot request retried without bound");
                answer(req.id, now.plus(40));
            }
            Action::Wait { until, .. } => {
                assert!(until > now);
                now = until;
            }
            Action::AwaitingResponse { .. } | Action::Display(_) | Action::Sign { .. } => panic!("unexpected {action:?}"),
            done => return done,
        }
    }
}

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let resp = response_from_bytes(rest);
    let client = Client::public("fuzz-client");
    if op & 1 == 0 {
        let config = RefreshConfig {
            client,
            token_endpoint: TOKEN_URL.into(),
            refresh_token: Secret::new(OLD_REFRESH),
            scope: None,
            timing: Default::default(),
        };
        let op = std::cell::RefCell::new(Refresh::new(config, START).unwrap());
        let end = drive(
            |now| op.borrow_mut().poll_action(now),
            |id, now| {
                op.borrow_mut()
                    .handle_response(id, resp.clone(), now)
                    .unwrap()
            },
        );
        if let Action::Done(tokens) = &end {
            assert!(
                tokens.refresh_token.is_some(),
                "a refresh never loses the refresh token"
            );
            assert!(!format!("{tokens:?}").contains(OLD_REFRESH));
        }
        assert!(op.borrow().is_finished());
    } else {
        let config = RevocationConfig {
            client,
            revocation_endpoint: "https://as.example.com/revoke".into(),
            token: Secret::new(OLD_REFRESH),
            token_type_hint: None,
            timing: Default::default(),
        };
        let op = std::cell::RefCell::new(Revocation::new(config, START).unwrap());
        let end = drive(
            |now| op.borrow_mut().poll_action(now),
            |id, now| {
                op.borrow_mut()
                    .handle_response(id, resp.clone(), now)
                    .unwrap()
            },
        );
        // RFC 7009 §2.2: a 200 means revoked whatever the body; another 2xx counts only
        // without an OAuth error; nothing outside 2xx ever does.
        let done = matches!(end, Action::Done(_));
        if resp.status == 200 {
            assert!(done);
        }
        if !(200..300).contains(&resp.status) {
            assert!(!done);
        }
    }
}
