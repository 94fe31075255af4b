//! (c) Discovery documents (RFC 8414 §3, OpenID Connect Discovery §4), through
//! `Discovery` and through a `DeviceFlow` that starts from an issuer.

use deviceflow::display::check_secure_url;
use deviceflow::{Action, Config, DeviceFlow, Discovery, ServerMetadata};
use crate::*;

const ISSUER: &str = "https://as.example.com/tenant";

fn check_metadata(m: &ServerMetadata) {
    assert_eq!(m.issuer.trim_end_matches('/'), ISSUER);
    for url in [
        &m.device_authorization_endpoint,
        &m.token_endpoint,
        &m.revocation_endpoint,
    ]
    .into_iter()
    .flatten()
    {
        check_secure_url(url).expect("endpoints are checked");
    }
}

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let resp = response_from_bytes(data);

    // The same answer at both well-known URLs (bounded: two documents, two retries each).
    let mut d = Discovery::new(ISSUER, START).unwrap();
    let mut now = START;
    let mut ids = Vec::new();
    for _ in 0..16 {
        let action = d.poll_action(now);
        check_action(&action);
        match action {
            Action::Send(req) => {
                assert!(!ids.contains(&req.id), "Send repeated");
                ids.push(req.id);
                d.handle_response(req.id, resp.clone(), now.plus(30))
                    .unwrap();
            }
            Action::Wait { until, .. } => now = until,
            Action::Done(meta) => {
                check_metadata(&meta);
                break;
            }
            Action::Failed(_) => break,
            other => panic!("unexpected {other:?}"),
        }
        assert!(ids.len() <= 6, "discovery retried without bound");
    }
    assert!(d.is_finished(), "discovery did not finish");

    // A device flow from the issuer: the document decides where the next request goes.
    let mut flow = DeviceFlow::new(Config::from_issuer("fuzz-client", ISSUER), START).unwrap();
    let mut now = START;
    for _ in 0..16 {
        let action = flow.poll_action(now);
        check_action(&action);
        match action {
            Action::Send(req) if req.url.contains("/.well-known/") => {
                flow.handle_response(req.id, resp.clone(), now.plus(30))
                    .unwrap();
            }
            Action::Send(req) => {
                let meta = flow.metadata().expect("metadata before the device request");
                check_metadata(meta);
                assert_eq!(Some(&req.url), meta.device_authorization_endpoint.as_ref());
                return;
            }
            Action::Wait { until, .. } => now = until,
            done @ (Action::Failed(_) | Action::Done(_)) => {
                check_finished(&mut flow, &done, now);
                return;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("the flow neither finished nor moved past discovery");
}
