//! Three server instances on one PostgreSQL database, driven over HTTP as a load balancer would
//! spread requests: a code issued by A is entered on B's page and polled on C; a browser session
//! moves between instances; 60 polls at the moment of approval yield one token set; a refresh
//! token presented to all three at once rotates once; rate limits are counted once for all.
//! Needs `DEVICEFLOW_TEST_POSTGRES` (tests/with-postgres.sh); says SKIPPED without it.

mod pg;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use deviceflow_server::engine::{Entrant, EntryError};
use deviceflow_server::{approve_via_page, spawn, Decision, ServerConfig, ServerHandle};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CLIENT: &str = "deviceflow-cli";

/// Instances on one fresh schema, started at the same moment (they migrate it together).
struct Cluster {
    servers: Vec<ServerHandle>,
    schema: pg::Schema,
}

impl Cluster {
    fn start(label: &str, n: usize, tweak: fn(&mut ServerConfig)) -> Option<Cluster> {
        let schema = pg::Schema::new(&format!("multi instance: {label}"))?;
        let barrier = Arc::new(Barrier::new(n));
        let starting: Vec<_> = (0..n)
            .map(|_| {
                let (url, barrier) = (schema.url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut config = ServerConfig {
                        database_url: Some(url),
                        ..ServerConfig::default()
                    };
                    tweak(&mut config);
                    barrier.wait();
                    spawn(config).expect("an instance starts")
                })
            })
            .collect();
        let servers = starting.into_iter().map(|t| t.join().unwrap()).collect();
        Some(Cluster { servers, schema })
    }

    fn at(&self, i: usize) -> &ServerHandle {
        &self.servers[i % self.servers.len()]
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in self.servers.drain(..) {
            s.shutdown();
        }
    }
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build();
    ureq::Agent::new_with_config(config)
}

/// Opens the agent's keep-alive connection to `issuer` ahead of a race, so that the requests
/// released together arrive together.
fn warm(agent: &ureq::Agent, issuer: &str) {
    let mut r = agent
        .get(&format!("{issuer}/.well-known/oauth-authorization-server"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.body_mut().read_to_string();
}

fn post(s: &ServerHandle, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = agent()
        .post(&format!("{}{path}", s.issuer()))
        .send_form(form.iter().copied())
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn authorize(s: &ServerHandle) -> (String, String) {
    let (status, body) = post(s, "/device_authorization", &[("client_id", CLIENT)]);
    assert_eq!(status, 200, "{body}");
    let field = |k: &str| body[k].as_str().unwrap().to_owned();
    (field("device_code"), field("user_code"))
}

fn poll(s: &ServerHandle, device_code: &str) -> (u16, Value) {
    post(
        s,
        "/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", CLIENT),
            ("device_code", device_code),
        ],
    )
}

fn refresh(s: &ServerHandle, refresh_token: &str) -> (u16, Value) {
    post(
        s,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh_token),
        ],
    )
}

fn userinfo(s: &ServerHandle, access_token: &str) -> (u16, Value) {
    let mut r = agent()
        .get(&format!("{}/userinfo", s.issuer()))
        .header("Authorization", &format!("Bearer {access_token}"))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("(none)")
}

/// The grant's tokens in the shared database, as `(kind, state)` counts.
fn tokens_of(schema: &pg::Schema, grant: &str) -> BTreeMap<(String, String), i64> {
    schema
        .rows(&format!(
            "SELECT kind, state, count(*) FROM tokens WHERE grant_id = '{grant}' \
             GROUP BY kind, state"
        ))
        .into_iter()
        .map(|r| {
            let text = |i: usize| r[i].clone().unwrap();
            ((text(0), text(1)), text(2).parse().unwrap())
        })
        .collect()
}

fn counts(pairs: &[(&str, &str, i64)]) -> BTreeMap<(String, String), i64> {
    pairs
        .iter()
        .map(|(k, s, n)| ((k.to_string(), s.to_string()), *n))
        .collect()
}

/// The device record's id (the grant id) and status, by the code's position in issue order.
fn only_device(schema: &pg::Schema) -> (String, String) {
    let rows = schema.rows("SELECT id, status FROM devices");
    assert_eq!(rows.len(), 1, "{rows:?}");
    (rows[0][0].clone().unwrap(), rows[0][1].clone().unwrap())
}

#[test]
fn a_code_from_a_is_entered_on_b_and_polled_on_c_and_its_tokens_work_everywhere() {
    let Some(c) = Cluster::start("a-b-c", 3, |_| {}) else {
        return;
    };
    let (a, b, cc) = (c.at(0), c.at(1), c.at(2));
    let (device_code, user_code) = authorize(a);
    let (status, body) = poll(cc, &device_code);
    assert_eq!(
        (status, error(&body)),
        (400, "authorization_pending"),
        "C knows A's code"
    );
    assert_eq!(
        approve_via_page(b.issuer(), &user_code, "alice", true).unwrap(),
        Decision::Approved,
        "B's page knows A's user code"
    );
    std::thread::sleep(Duration::from_millis(4_100)); // one interval (5 s, less the tolerance)
    let (status, tokens) = poll(cc, &device_code);
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        userinfo(a, access),
        (200, serde_json::json!({"sub": "alice"}))
    );
    // A refresh on B; the new access token works on C, the old refresh token nowhere.
    let (status, rotated) = refresh(b, refresh_token);
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(userinfo(cc, new_access).0, 200);
    // Revoked on A: refused on B and C at once (no cache anywhere).
    let (status, _) = post(
        a,
        "/revoke",
        &[("client_id", CLIENT), ("token", new_access)],
    );
    assert_eq!(status, 200);
    assert_eq!(userinfo(b, new_access).0, 401);
    assert_eq!(userinfo(cc, new_access).0, 401);
    let (grant, state) = only_device(&c.schema);
    assert_eq!(state, "consumed");
    assert_eq!(
        tokens_of(&c.schema, &grant),
        counts(&[
            ("access", "active", 1),
            ("access", "revoked", 1),
            ("refresh", "active", 1),
            ("refresh", "rotated", 1),
        ])
    );
}

fn cookie_of(r: &ureq::http::Response<ureq::Body>) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|kv| kv.starts_with("deviceflow_session="))
        .map(str::to_owned)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
    &s[from..from + s[from..].find(end).unwrap()]
}

/// A browser without a sticky load balancer: each step of the pages on another instance. The
/// session cookie and the CSRF token are signed under a key every instance reads from the store.
#[test]
fn a_browser_session_moves_between_instances() {
    let Some(c) = Cluster::start("session", 3, |_| {}) else {
        return;
    };
    let (device_code, user_code) = authorize(c.at(2));
    let agent = agent();
    let first = agent
        .get(&format!(
            "{}/device?user_code={user_code}",
            c.at(0).issuer()
        ))
        .call()
        .unwrap();
    let cookie = cookie_of(&first).expect("A starts a session");
    let mut entry = agent
        .get(&format!("{}/device", c.at(1).issuer()))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(entry.status(), 200);
    let page = entry.body_mut().read_to_string().unwrap();
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"").to_owned();
    let mut confirm = agent
        .post(&format!("{}/device", c.at(2).issuer()))
        .header("Cookie", &cookie)
        .send_form([
            ("csrf", csrf.as_str()),
            ("username", "bob"),
            ("user_code", user_code.as_str()),
        ])
        .unwrap();
    let cookie = cookie_of(&confirm).unwrap_or(cookie);
    let page = confirm.body_mut().read_to_string().unwrap();
    assert!(page.contains("data-outcome=\"confirm\""), "{page}");
    let mut done = agent
        .post(&format!("{}/device/confirm", c.at(0).issuer()))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str()), ("decision", "approve")])
        .unwrap();
    let page = done.body_mut().read_to_string().unwrap();
    assert!(page.contains("data-outcome=\"approved\""), "{page}");
    let (status, tokens) = poll(c.at(1), &device_code);
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(c.at(2), access).1["sub"], "bob");
}

/// 3 × 20 clients poll one code as fast as they like, spread over the three instances, while it
/// is approved on B. Before approval: exactly one `authorization_pending` in all (the one poll
/// that recorded itself first; every other is early, `slow_down`). After: every poller gets the
/// same token response (one redemption; the others are answered from the sealed copy of its
/// response, RFC 8628 §3.5 plus the lost-response rule), and the database holds one token set.
#[test]
fn sixty_polls_at_the_moment_of_approval_yield_exactly_one_token_set() {
    // A long interval: every poll but the first stays early for the whole test.
    let Some(c) = Cluster::start("sixty", 3, |c| c.interval_secs = 60) else {
        return;
    };
    let (device_code, user_code) = authorize(c.at(0));
    let barrier = Arc::new(Barrier::new(61));
    let issuers: Vec<String> = c.servers.iter().map(|s| s.issuer().to_owned()).collect();
    let pollers: Vec<_> = (0..60)
        .map(|i| {
            let (barrier, code) = (barrier.clone(), device_code.clone());
            let issuer = issuers[i % 3].clone();
            std::thread::spawn(move || {
                let agent = agent();
                warm(&agent, &issuer);
                let mut answers = Vec::new();
                barrier.wait();
                let deadline = Instant::now() + Duration::from_secs(60);
                while Instant::now() < deadline {
                    let mut r = agent
                        .post(&format!("{issuer}/token"))
                        .send_form([
                            ("grant_type", DEVICE_GRANT),
                            ("client_id", CLIENT),
                            ("device_code", code.as_str()),
                        ])
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value =
                        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                    let done = status == 200
                        || !matches!(error(&body), "authorization_pending" | "slow_down");
                    answers.push((status, body));
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10 + (i as u64 * 7) % 30));
                }
                answers
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        approve_via_page(c.at(1).issuer(), &user_code, "alice", true).unwrap(),
        Decision::Approved
    );
    let answers: Vec<Vec<(u16, Value)>> = pollers.into_iter().map(|t| t.join().unwrap()).collect();

    let all: Vec<&(u16, Value)> = answers.iter().flatten().collect();
    let pending = all
        .iter()
        .filter(|(_, b)| error(b) == "authorization_pending")
        .count();
    assert_eq!(
        pending, 1,
        "one poll recorded itself first; the rest were early"
    );
    let tokens: Vec<&Value> = all
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(tokens.len(), 60, "every poller ends with the tokens");
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "one token set, the same for everyone"
    );
    let others: Vec<_> = all
        .iter()
        .filter(|(s, b)| *s != 200 && !matches!(error(b), "authorization_pending" | "slow_down"))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    let (grant, state) = only_device(&c.schema);
    assert_eq!(state, "consumed");
    assert_eq!(
        tokens_of(&c.schema, &grant),
        counts(&[("access", "active", 1), ("refresh", "active", 1)]),
        "exactly one token set in the database"
    );
    assert_eq!(c.schema.int("SELECT count(*) FROM tokens"), 2);
}

/// The same refresh token, presented 10 times to each instance at once: one rotation (one 200).
/// Every other presentation finds it rotated (or loses the compare-and-set) and is reuse
/// (RFC 9700 §4.14.2), which revokes the whole grant: the winner's new tokens die too. That is
/// the rule for a replayed refresh token; what matters here is that no second rotation exists.
#[test]
fn a_refresh_token_presented_to_three_instances_at_once_rotates_once() {
    let Some(c) = Cluster::start("refresh", 3, |c| c.interval_secs = 1) else {
        return;
    };
    let (device_code, user_code) = authorize(c.at(0));
    approve_via_page(c.at(1).issuer(), &user_code, "alice", true).unwrap();
    let (status, tokens) = poll(c.at(2), &device_code);
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let barrier = Arc::new(Barrier::new(30));
    let issuers: Vec<String> = c.servers.iter().map(|s| s.issuer().to_owned()).collect();
    let answers: Vec<(u16, Value)> = (0..30)
        .map(|i| {
            let (barrier, rt, issuer) = (barrier.clone(), rt.clone(), issuers[i % 3].clone());
            std::thread::spawn(move || {
                let agent = agent();
                warm(&agent, &issuer);
                barrier.wait();
                let mut r = agent
                    .post(&format!("{issuer}/token"))
                    .send_form([
                        ("grant_type", "refresh_token"),
                        ("client_id", CLIENT),
                        ("refresh_token", rt.as_str()),
                    ])
                    .unwrap();
                let status = r.status().as_u16();
                let body = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                (status, body)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let won: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 200 || (*s == 400 && error(b) == "invalid_grant")),
        "{answers:?}"
    );
    let (grant, _) = only_device(&c.schema);
    assert_eq!(
        tokens_of(&c.schema, &grant),
        counts(&[("access", "revoked", 2), ("refresh", "revoked", 2)]),
        "the redemption's pair and exactly one rotation's pair; reuse revoked them all"
    );
    let new_rt = won[0]["refresh_token"].as_str().unwrap();
    assert_eq!(error(&refresh(c.at(0), new_rt).1), "invalid_grant");
    assert_eq!(
        userinfo(c.at(1), won[0]["access_token"].as_str().unwrap()).0,
        401
    );
}

/// Issuance is counted in the database: 36 device authorizations at once over three instances,
/// with a limit of 12 per source, give exactly 12 codes and 24 answers of 429.
#[test]
fn issuance_limits_are_counted_once_for_all_instances() {
    let Some(c) = Cluster::start("issuance", 3, |c| c.issuance.per_source = 12) else {
        return;
    };
    let barrier = Arc::new(Barrier::new(36));
    let issuers: Vec<String> = c.servers.iter().map(|s| s.issuer().to_owned()).collect();
    let statuses: Vec<u16> = (0..36)
        .map(|i| {
            let (barrier, issuer) = (barrier.clone(), issuers[i % 3].clone());
            std::thread::spawn(move || {
                let agent = agent();
                warm(&agent, &issuer);
                barrier.wait();
                agent
                    .post(&format!("{issuer}/device_authorization"))
                    .send_form([("client_id", CLIENT)])
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (12, 24), "{statuses:?}");
    assert_eq!(c.schema.int("SELECT count(*) FROM devices"), 12);
}

/// Code entry is counted in the database: one user code entered 15 times at once on the three
/// instances is shown exactly 5 times (`entries_per_code`), and a browser session's wrong codes
/// count on every instance (`failures_per_session`).
#[test]
fn code_entry_limits_are_counted_once_for_all_instances() {
    let Some(c) = Cluster::start("entry", 3, |_| {}) else {
        return;
    };
    let (_, user_code) = authorize(c.at(0));
    let now = now_ms();
    let barrier = Arc::new(Barrier::new(15));
    let shown: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..15)
            .map(|i| {
                let (barrier, engine, code) = (barrier.clone(), c.at(i).engine(), &user_code);
                scope.spawn(move || {
                    barrier.wait();
                    let session = format!("browser-{i}");
                    let who = Entrant::new(&session, "198.51.100.7");
                    engine.handle_user_code(code, &who, now).is_ok()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(shown.iter().filter(|s| **s).count(), 5, "{shown:?}");

    // Wrong codes from one browser session, on A, B, C in turn: then it is refused on each.
    let who = Entrant::new("one-browser", "198.51.100.8");
    for i in 0..5 {
        let r = c.at(i).engine().handle_user_code("BCDF-GHJK", &who, now);
        assert!(matches!(r, Err(EntryError::Invalid)), "{i}: {r:?}");
    }
    for i in 0..3 {
        let r = c.at(i).engine().handle_user_code(&user_code, &who, now);
        assert!(matches!(r, Err(EntryError::TooManyAttempts)), "{i}: {r:?}");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
