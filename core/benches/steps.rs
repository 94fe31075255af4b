//! The hot steps of the device flow, each measured alone (setup is untimed):
//!
//! * `pending_then_next_action`: `handle_response({"error":"authorization_pending"})`
//!   + `poll_action` (→ `Wait`): what every poll costs while the user types the code.
//! * `device_response_to_wait`: `DeviceFlow::new` → `Send` → `handle_response(device
//!   authorization JSON)` → `Display` → `Wait`: starting a login.
//!   `device_response_only` is the same without `new` and the first `Send`.
//! * `wait_elapsed_build_poll`: `poll_action` after the wait ends → `Send(poll request)`.
//!
//! Run: `cargo bench -p deviceflow --bench steps`. Figures: `bench/README.md`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use deviceflow::{Action, Config, DeviceFlow, HttpRequest, HttpResponse, Timestamp};
use serde_json::json;
use std::hint::black_box;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn config() -> Config {
    Config::new(
        "0f8e3a1c-client",
        "https://login.example.com/oauth2/v2.0/devicecode",
        "https://login.example.com/oauth2/v2.0/token",
    )
    .with_scope("openid offline_access profile email")
}

/// Microsoft's shape: the usual fields plus a free-text `message` to clean.
fn device_response() -> HttpResponse {
    HttpResponse::json(
        200,
        &json!({
            "device_code": "DAQABAAEAAAD--DLA3VO7QrddgJg7WevrKx7ZrgRYMU5kZg6B5lO6qyQ0eB0ZUlvm6r6cR3u0",
            "user_code": "FJKP-QWRT",
            "verification_uri": "https://microsoft.com/devicelogin",
            "verification_uri_complete": "https://microsoft.com/devicelogin?code=FJKP-QWRT",
            "expires_in": 900,
            "interval": 5,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FJKP-QWRT to authenticate."
        }),
    )
}

fn pending() -> HttpResponse {
    HttpResponse::json(400, &json!({"error": "authorization_pending"}))
}

fn send(action: Action) -> HttpRequest {
    match action {
        Action::Send(req) => req,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// A flow that has shown its prompt and is waiting for the first poll; returns
/// the flow and when that wait ends.
fn waiting_flow() -> (DeviceFlow, Timestamp) {
    let mut flow = DeviceFlow::new(config(), T0).unwrap();
    let req = send(flow.poll_action(T0));
    let now = T0.plus(150);
    flow.handle_response(req.id, device_response(), now)
        .unwrap();
    assert!(matches!(flow.poll_action(now), Action::Display(_)));
    match flow.poll_action(now) {
        Action::Wait { until, .. } => (flow, until),
        other => panic!("expected Wait, got {other:?}"),
    }
}

/// A flow with a token poll in flight.
fn polling_flow() -> (DeviceFlow, HttpRequest, Timestamp) {
    let (mut flow, until) = waiting_flow();
    let req = send(flow.poll_action(until));
    (flow, req, until.plus(80))
}

fn steps(c: &mut Criterion) {
    c.bench_function("pending_then_next_action", |b| {
        b.iter_batched(
            || (polling_flow(), pending()),
            |((mut flow, req, now), resp)| {
                flow.handle_response(req.id, resp, now).unwrap();
                let action = flow.poll_action(now);
                debug_assert!(matches!(action, Action::Wait { .. }));
                (flow, black_box(action))
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("device_response_to_wait", |b| {
        b.iter_batched(
            || (config(), device_response()),
            |(config, resp)| {
                let mut flow = DeviceFlow::new(config, T0).unwrap();
                let req = send(flow.poll_action(T0));
                let now = T0.plus(150);
                flow.handle_response(req.id, resp, now).unwrap();
                let display = flow.poll_action(now);
                debug_assert!(matches!(display, Action::Display(_)));
                let wait = flow.poll_action(now);
                debug_assert!(matches!(wait, Action::Wait { .. }));
                (flow, black_box(display), black_box(wait))
            },
            BatchSize::SmallInput,
        )
    });

    // The parsing part of the above alone: the flow already sent its request.
    c.bench_function("device_response_only", |b| {
        b.iter_batched(
            || {
                let mut flow = DeviceFlow::new(config(), T0).unwrap();
                let req = send(flow.poll_action(T0));
                (flow, req, device_response())
            },
            |(mut flow, req, resp)| {
                let now = T0.plus(150);
                flow.handle_response(req.id, resp, now).unwrap();
                let display = flow.poll_action(now);
                let wait = flow.poll_action(now);
                (flow, black_box(display), black_box(wait))
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("wait_elapsed_build_poll", |b| {
        b.iter_batched(
            waiting_flow,
            |(mut flow, until)| {
                let action = flow.poll_action(until);
                debug_assert!(matches!(action, Action::Send(_)));
                (flow, black_box(action))
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, steps);
criterion_main!(benches);
