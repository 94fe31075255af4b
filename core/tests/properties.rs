//! Property tests over random server scripts: whatever the server does, the
//! client keeps the RFC 8628 timing rules and always ends.

use deviceflow::*;
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Debug)]
enum Reply {
    Pending,
    SlowDown(Option<u64>),
    Unavailable(Option<u64>),
    Blip,
    Tokens,
    Denied,
    Garbage,
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        6 => Just(Reply::Pending),
        2 => proptest::option::of(1u64..40).prop_map(Reply::SlowDown),
        1 => proptest::option::of(0u64..30).prop_map(Reply::Unavailable),
        1 => Just(Reply::Blip),
        1 => Just(Reply::Tokens),
        1 => Just(Reply::Denied),
        1 => Just(Reply::Garbage),
    ]
}

#[derive(Clone, Debug)]
struct Script {
    interval: Option<u64>,
    expires_in: u64,
    latencies: Vec<u64>,
    /// Per poll, the share (in %) of its round trip spent on the way to the server.
    up_shares: Vec<u64>,
    replies: Vec<Reply>,
    early_wakes: Vec<bool>,
}

fn script() -> impl Strategy<Value = Script> {
    (
        proptest::option::of(0u64..20),
        5u64..400,
        proptest::collection::vec(0u64..3_000, 1..20),
        proptest::collection::vec(0u64..=100, 1..20),
        proptest::collection::vec(reply(), 1..60),
        proptest::collection::vec(any::<bool>(), 1..10),
    )
        .prop_map(
            |(interval, expires_in, latencies, up_shares, replies, early_wakes)| Script {
                interval,
                expires_in,
                latencies,
                up_shares,
                replies,
                early_wakes,
            },
        )
}

fn respond(reply: &Reply) -> Result<HttpResponse, TransportError> {
    Ok(match reply {
        Reply::Pending => HttpResponse::json(400, &json!({"error": "authorization_pending"})),
        Reply::SlowDown(Some(i)) => {
            HttpResponse::json(400, &json!({"error": "slow_down", "interval": i}))
        }
        Reply::SlowDown(None) => HttpResponse::json(400, &json!({"error": "slow_down"})),
        Reply::Unavailable(ra) => HttpResponse::new(
            503,
            ra.map(|s| vec![Header::new("retry-after", s.to_string())])
                .unwrap_or_default(),
            "<html>busy</html>",
        ),
        Reply::Blip => return Err(TransportError::Timeout),
        Reply::Tokens => {
            HttpResponse::json(200, &json!({"access_token": "a", "token_type": "Bearer"}))
        }
        Reply::Denied => HttpResponse::json(400, &json!({"error": "access_denied"})),
        Reply::Garbage => HttpResponse::new(200, vec![], "not json"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn timing_rules_hold_for_any_server(s in script()) {
        let config = Config::new("c", "https://as.example/device", "https://as.example/token");
        let mut now = Timestamp(1_000);
        let mut flow = DeviceFlow::new(config, now).unwrap();
        let Action::Send(req) = flow.poll_action(now) else { panic!("first action must be a send") };
        let device_sent = now;
        now = now.plus(s.latencies[0]);
        let mut body = json!({"device_code": "d", "user_code": "ABCD-EFGH",
            "verification_uri": "https://as.example/v", "expires_in": s.expires_in});
        if let Some(i) = s.interval { body["interval"] = json!(i); }
        flow.handle_response(req.id, HttpResponse::json(200, &body), now).unwrap();

        let deadline = device_sent.plus(s.expires_in * 1000);
        let mut interval = match s.interval { None | Some(0) => 5_000, Some(i) => i * 1000 };
        let mut last_reply_at = now;
        let mut last_id = req.id.0;
        let mut displays = 0;
        let mut polls = 0u64;
        let mut step = 0usize;
        let mut last_interval_seen = 0;
        // What a server that counts "too fast" from the previous poll's arrival sees.
        let mut last_arrival: Option<Timestamp> = None;
        // Whether the wait before the next poll should be exactly interval + 20 ms.
        let mut plain_pending = false;
        let mut slowed = false;
        loop {
            step += 1;
            prop_assert!(step < 10_000, "the flow never ended");
            if let Some(i) = flow.interval_ms() {
                prop_assert!(i >= last_interval_seen, "interval shrank");
                last_interval_seen = i;
            }
            match flow.poll_action(now) {
                Action::Send(req) => {
                    prop_assert!(req.id.0 > last_id, "a request id repeated");
                    last_id = req.id.0;
                    prop_assert!(now < deadline, "poll at {now:?} at or after deadline {deadline:?}");
                    prop_assert!(now.since(last_reply_at) >= interval,
                        "poll {} ms after the last reply, interval {interval}", now.since(last_reply_at));
                    // Picked up no later than a poller at the interval, give or take the margin.
                    if plain_pending && now < deadline && !slowed {
                        prop_assert!(now.since(last_reply_at) <= interval + 20,
                            "poll {} ms after a pending reply, interval {interval}", now.since(last_reply_at));
                    }
                    prop_assert_eq!(req.timeout_ms, None, "polls use the host's own deadline");
                    prop_assert!(matches!(flow.poll_action(now), Action::AwaitingResponse { .. }), "Send repeated");
                    let reply = &s.replies[(polls as usize) % s.replies.len()];
                    polls += 1;
                    let rtt = s.latencies[polls as usize % s.latencies.len()];
                    let arrival = now.plus(rtt * s.up_shares[polls as usize % s.up_shares.len()] / 100);
                    if let Some(last) = last_arrival {
                        prop_assert!(arrival.since(last) >= interval,
                            "the server saw polls {} ms apart, interval {interval}", arrival.since(last));
                    }
                    last_arrival = Some(arrival);
                    now = now.plus(rtt);
                    match respond(reply) {
                        Ok(resp) => flow.handle_response(req.id, resp, now).unwrap(),
                        Err(kind) => flow.handle_transport_error(req.id, kind, now).unwrap(),
                    }
                    if let Reply::SlowDown(server) = reply {
                        interval = (interval + 5_000).max(server.unwrap_or(0) * 1000).min(600_000);
                        slowed = true;
                    }
                    plain_pending = matches!(reply, Reply::Pending);
                    last_reply_at = now;
                }
                Action::Display(p) => {
                    displays += 1;
                    prop_assert_eq!(displays, 1, "Display repeated");
                    prop_assert_eq!(p.user_code, "ABCD-EFGH");
                }
                Action::Wait { until, delay_ms, .. } => {
                    prop_assert_eq!(until, now.plus(delay_ms));
                    prop_assert!(until <= deadline || until <= now, "wait past the deadline");
                    if s.early_wakes[step % s.early_wakes.len()] && delay_ms > 1 {
                        let early = now.plus(delay_ms / 2);
                        match flow.poll_action(early) {
                            Action::Wait { until: again, .. } => prop_assert_eq!(again, until),
                            other => prop_assert!(false, "early wake gave {other:?}"),
                        }
                    }
                    now = until;
                }
                Action::AwaitingResponse { .. } | Action::Sign { .. } => prop_assert!(false, "nothing is in flight"),
                Action::Done(_) | Action::Failed(_) => break,
            }
        }
        prop_assert!(now <= deadline.plus(3_000), "ended at {now:?}, deadline {deadline:?}");
        prop_assert!(polls <= s.expires_in + 1, "{polls} polls in {} s", s.expires_in);
        prop_assert!(flow.handle_response(RequestId(last_id), HttpResponse::default(), now).is_err());
    }
}

#[derive(Clone, Debug)]
enum OneShotReply {
    Unavailable(Option<u64>),
    Fail(TransportError),
    Hang,
    Ok,
}

fn one_shot_reply() -> impl Strategy<Value = OneShotReply> {
    prop_oneof![
        3 => proptest::option::of(0u64..60).prop_map(OneShotReply::Unavailable),
        2 => prop_oneof![Just(TransportError::Connect), Just(TransportError::Io)].prop_map(OneShotReply::Fail),
        2 => Just(OneShotReply::Hang),
        1 => Just(OneShotReply::Ok),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the server does, a one-shot operation driven by a host that honours
    /// `timeout_ms` ends within one budget of its first send: every `Send` carries
    /// exactly what is left, nothing is sent once it is spent, and retries stay bounded.
    #[test]
    fn one_shot_operations_end_within_their_budget(
        replies in proptest::collection::vec(one_shot_reply(), 1..8),
        latencies in proptest::collection::vec(0u64..40_000, 1..8),
        retries in 0u32..6,
        budget in 1_000u64..60_000,
        start in 0u64..10_000,
    ) {
        let timing = Timing { request_retries: retries, request_budget_ms: budget, ..Timing::default() };
        let config = RefreshConfig {
            client: Client::public("c"),
            token_endpoint: "https://as.example/token".into(),
            refresh_token: Secret::new("rt"),
            scope: None,
            timing,
        };
        let mut now = Timestamp(start);
        let mut op = Refresh::new(config, Timestamp(0)).unwrap();
        let mut first_send = None;
        let mut sends = 0usize;
        loop {
            match op.poll_action(now) {
                Action::Send(req) => {
                    let end = *first_send.get_or_insert(now.plus(budget));
                    prop_assert!(now < end, "a request at {now:?}, budget over at {end:?}");
                    prop_assert_eq!(req.timeout_ms, Some(end.since(now)));
                    let limit = req.timeout_ms.unwrap();
                    let reply = &replies[sends % replies.len()];
                    let took = latencies[sends % latencies.len()];
                    sends += 1;
                    prop_assert!(sends <= retries as usize + 1, "more attempts than retries allow");
                    match reply {
                        OneShotReply::Hang => {
                            now = now.plus(limit);
                            op.handle_transport_error(req.id, TransportError::Timeout, now).unwrap();
                        }
                        _ if took >= limit => {
                            now = now.plus(limit);
                            op.handle_transport_error(req.id, TransportError::Timeout, now).unwrap();
                        }
                        OneShotReply::Fail(kind) => {
                            now = now.plus(took);
                            op.handle_transport_error(req.id, *kind, now).unwrap();
                        }
                        OneShotReply::Unavailable(ra) => {
                            now = now.plus(took);
                            let headers = ra.map(|s| vec![Header::new("retry-after", s.to_string())]).unwrap_or_default();
                            op.handle_response(req.id, HttpResponse::new(503, headers, ""), now).unwrap();
                        }
                        OneShotReply::Ok => {
                            now = now.plus(took);
                            let body = json!({"access_token": "a", "token_type": "Bearer"});
                            op.handle_response(req.id, HttpResponse::json(200, &body), now).unwrap();
                        }
                    }
                }
                Action::Wait { until, .. } => {
                    let end = first_send.expect("a wait follows a send");
                    prop_assert!(until < end, "a wait to {until:?} past the budget's end {end:?}");
                    now = until;
                }
                Action::Done(_) | Action::Failed(_) => break,
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        let end = first_send.unwrap();
        prop_assert!(now <= end, "ended at {now:?}, budget over at {end:?}");
    }
}
