//! Both halves in one process, on one simulated clock (quinn's `Pair` idea): the client core's
//! sans-IO machines (`deviceflow`: `DeviceFlow`, `Discovery`, `Refresh`, `Revocation`) against
//! this crate's sans-IO `Engine`. No socket, no thread, no sleep: every `Send` the client hands
//! out becomes the engine call the HTTP layer would make (`src/http/oauth.rs`), after a
//! simulated network latency, and the engine's answer goes back as the client's
//! `HttpResponse`. The person at the verification page is a scripted decision at a set time.
//!
//! Covered: discovery then login, `slow_down` (from a duplicated poll, as a retrying proxy
//! would send it), denial, expiry, refresh rotation with reuse detection, and revocation.

#[path = "fixtures/mod.rs"]
mod fixtures;

use deviceflow::{
    Action, Client, Config, DeviceFlow, Discovery, FlowError, Header, HttpRequest, HttpResponse,
    MisuseError, Prompt, Refresh, RefreshConfig, RequestId, Revocation, RevocationConfig, Secret,
    Timestamp, Timing, TokenSet, TokenTypeHint,
};
use deviceflow_server::engine::poll_timing::is_early;
use deviceflow_server::engine::{ClientRequest, Engine, EngineConfig, Entrant, Params, Response};
use deviceflow_server::store::MemoryStore;
use fixtures::{clients, TestRng};

const ISSUER: &str = "https://as.example";
/// One way, each way: a request reaches the engine `LATENCY` after the client hands it out.
const LATENCY: u64 = 40;
const START: u64 = 1_700_000_000_000;

/// The sans-IO surface every client machine shares.
trait Machine {
    type Out;
    fn poll(&mut self, now: Timestamp) -> Action<Self::Out>;
    fn answer(&mut self, id: RequestId, r: HttpResponse, now: Timestamp)
        -> Result<(), MisuseError>;
}

macro_rules! machine {
    ($t:ty, $out:ty) => {
        impl Machine for $t {
            type Out = $out;
            fn poll(&mut self, now: Timestamp) -> Action<$out> {
                self.poll_action(now)
            }
            fn answer(
                &mut self,
                id: RequestId,
                r: HttpResponse,
                now: Timestamp,
            ) -> Result<(), MisuseError> {
                self.handle_response(id, r, now)
            }
        }
    };
}
machine!(DeviceFlow, TokenSet);
machine!(Discovery, deviceflow::ServerMetadata);
machine!(Refresh, TokenSet);
machine!(Revocation, deviceflow::Revoked);

/// What the engine saw: (arrival time, endpoint, grant type, status, OAuth error).
#[derive(Debug)]
struct Seen {
    at: u64,
    path: String,
    grant: Option<String>,
    status: u16,
    error: Option<String>,
}

/// The person at the verification page: approves or denies `after` ms after the code is shown.
struct Person {
    after: u64,
    approve: bool,
}

struct Pair {
    engine: Engine<MemoryStore>,
    rng: TestRng,
    now: u64,
    seen: Vec<Seen>,
    /// The indices (among token-endpoint device-code polls) the network delivers twice, the
    /// second copy `1 s` later; the client gets the answer to the second.
    duplicate_polls: Vec<usize>,
    displays: Vec<Prompt>,
}

impl Pair {
    fn new() -> Pair {
        let mut config = EngineConfig::new(ISSUER, [7; 32]);
        config.interval_ms = 5_000;
        config.device_code_ttl_ms = 120_000;
        Pair {
            engine: Engine::new(config, clients(), MemoryStore::new()),
            rng: TestRng(0),
            now: START,
            seen: Vec::new(),
            duplicate_polls: Vec::new(),
            displays: Vec::new(),
        }
    }

    /// The engine call the HTTP layer makes for `req`, at `at`.
    fn serve(&mut self, req: &HttpRequest, at: u64) -> HttpResponse {
        let path = req
            .url
            .strip_prefix(ISSUER)
            .unwrap_or_else(|| panic!("a request off the server: {}", req.url))
            .to_owned();
        let now = at as i64;
        let r = if path.starts_with("/.well-known/") {
            assert_eq!(req.method.as_str(), "GET");
            Response {
                status: 200,
                body: self.engine.metadata(),
                retry_after_s: None,
            }
        } else {
            assert_eq!(req.method.as_str(), "POST", "{path}");
            match Params::parse(&req.body) {
                Err(e) => Response {
                    status: e.status,
                    body: e.body(),
                    retry_after_s: None,
                },
                Ok(params) => {
                    let cr = ClientRequest {
                        params,
                        authorization: req
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("authorization"))
                            .map(|h| h.value.clone()),
                        source: "192.0.2.1".into(),
                    };
                    match path.as_str() {
                        "/device_authorization" => {
                            self.engine
                                .handle_device_authorization(&cr, now, &mut self.rng)
                        }
                        "/token" => self.engine.handle_token(&cr, now, &mut self.rng),
                        "/revoke" => self.engine.handle_revocation(&cr, now),
                        other => panic!("no endpoint {other}"),
                    }
                }
            }
        };
        let grant = form_value(&req.body, "grant_type");
        self.seen.push(Seen {
            at,
            path,
            grant,
            status: r.status,
            error: r.body["error"].as_str().map(str::to_owned),
        });
        let mut headers = vec![Header::new("Content-Type", "application/json")];
        if let Some(s) = r.retry_after_s {
            headers.push(Header::new("Retry-After", s.to_string()));
        }
        HttpResponse::new(r.status, headers, serde_json::to_vec(&r.body).unwrap())
    }

    /// Drives `m` to its end on the shared clock; `person` acts on the first `Display`.
    fn drive<M: Machine>(&mut self, m: &mut M, person: Option<Person>) -> Result<M::Out, FlowError>
    where
        M::Out: std::fmt::Debug,
    {
        let mut decide_at: Option<(u64, String, bool)> = None;
        let mut person = person;
        for _ in 0..1_000 {
            match m.poll(Timestamp(self.now)) {
                Action::Send(req) => {
                    let polls = self.device_polls();
                    let mut arrive = self.now + LATENCY;
                    self.decide_until(&mut decide_at, arrive);
                    let mut resp = self.serve(&req, arrive);
                    if self.duplicate_polls.contains(&polls) && is_device_poll(&req) {
                        arrive += 1_000;
                        self.decide_until(&mut decide_at, arrive);
                        resp = self.serve(&req, arrive);
                    }
                    self.now = arrive + LATENCY;
                    m.answer(req.id, resp, Timestamp(self.now)).unwrap();
                }
                Action::Display(prompt) => {
                    if let Some(p) = person.take() {
                        decide_at = Some((self.now + p.after, prompt.user_code.clone(), p.approve));
                    }
                    self.displays.push(prompt);
                }
                Action::Wait { until, .. } => {
                    assert!(until.0 > self.now, "a wait that does not move time");
                    self.decide_until(&mut decide_at, until.0);
                    self.now = until.0;
                }
                Action::Sign { .. } => panic!("DPoP is off: nothing to sign"),
                Action::AwaitingResponse { .. } => panic!("every Send was answered at once"),
                Action::Done(out) => return Ok(out),
                Action::Failed(e) => return Err(e),
            }
        }
        panic!("the machine did not finish in 1000 actions")
    }

    /// The person's decision, if it falls at or before `t`, made at its time.
    fn decide_until(&mut self, plan: &mut Option<(u64, String, bool)>, t: u64) {
        let Some((at, _, _)) = plan else { return };
        if *at > t {
            return;
        }
        let (at, user_code, approve) = plan.take().unwrap();
        let who = Entrant::new("browser-session", "198.51.100.7");
        let pending = self
            .engine
            .handle_user_code(&user_code, &who, at as i64)
            .expect("the code the client showed is the engine's");
        self.engine
            .handle_decision(
                &pending.device_id,
                "alice",
                "198.51.100.7",
                approve,
                at as i64,
            )
            .expect("decision");
    }

    fn device_polls(&self) -> usize {
        self.polls().len()
    }

    fn polls(&self) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.grant.as_deref() == Some(deviceflow::DEVICE_CODE_GRANT))
            .collect()
    }

    /// Log in from the issuer alone (discovery first), with `person` at the page.
    fn login(&mut self, person: Option<Person>) -> Result<TokenSet, FlowError> {
        let config = Config::from_issuer("cli", ISSUER).with_scope("openid profile");
        let mut flow = DeviceFlow::new(config, Timestamp(self.now)).unwrap();
        let out = self.drive(&mut flow, person);
        assert!(flow.is_finished());
        out
    }

    fn refresh(&mut self, refresh_token: &str) -> Result<TokenSet, FlowError> {
        let mut r = Refresh::new(
            RefreshConfig {
                client: Client::public("cli"),
                token_endpoint: format!("{ISSUER}/token"),
                refresh_token: Secret::new(refresh_token),
                scope: None,
                timing: Timing::default(),
            },
            Timestamp(self.now),
        )
        .unwrap();
        self.drive(&mut r, None)
    }
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn is_device_poll(req: &HttpRequest) -> bool {
    form_value(&req.body, "grant_type").as_deref() == Some(deviceflow::DEVICE_CODE_GRANT)
}

/// Every pair of consecutive polls the engine saw, as the engine judges them.
fn assert_on_time(polls: &[&Seen], interval_ms: i64) {
    for w in polls.windows(2) {
        assert!(
            !is_early(Some(w[0].at as i64), w[1].at as i64, interval_ms),
            "polls {} ms apart with a {interval_ms} ms interval",
            w[1].at - w[0].at
        );
    }
}

#[test]
fn login_through_discovery_and_approval() {
    let mut pair = Pair::new();
    let tokens = pair
        .login(Some(Person {
            after: 12_000,
            approve: true,
        }))
        .expect("login");
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(pair.displays.len(), 1, "one Display");
    let prompt = &pair.displays[0];
    assert_eq!(prompt.interval, 5);
    assert!(prompt.verification_uri.starts_with(ISSUER));
    // Discovery (the OpenID Connect URL answers), the device request, then polls.
    assert!(pair.seen[0]
        .path
        .starts_with("/.well-known/openid-configuration"));
    assert_eq!(pair.seen[1].path, "/device_authorization");
    let polls = pair.polls();
    assert!(polls
        .iter()
        .all(|p| p.error.as_deref() != Some("slow_down")));
    assert_on_time(&polls, 5_000);
    // Approved 12 s after the Display: the third poll (at about 15 s) gets the tokens.
    assert_eq!(polls.len(), 3, "{polls:?}");
    assert_eq!(polls.last().unwrap().status, 200);
}

#[test]
fn a_duplicated_poll_gets_slow_down_and_the_client_keeps_the_longer_interval() {
    let mut pair = Pair::new();
    pair.duplicate_polls = vec![1];
    let tokens = pair.login(Some(Person {
        after: 30_000,
        approve: true,
    }));
    assert!(tokens.is_ok(), "{tokens:?}");
    let polls = pair.polls();
    let slow: Vec<_> = polls
        .iter()
        .filter(|p| p.error.as_deref() == Some("slow_down"))
        .collect();
    assert_eq!(slow.len(), 1, "only the duplicate is early: {polls:?}");
    // After it, the client polls 10 s apart (5 s + 5 s), which the engine accepts as on time.
    let after: Vec<&Seen> = polls
        .iter()
        .copied()
        .skip_while(|p| p.error.as_deref() != Some("slow_down"))
        .collect();
    assert!(after.len() >= 3, "{after:?}");
    for w in after.windows(2) {
        assert!(
            w[1].at - w[0].at >= 10_000,
            "{} ms after slow_down",
            w[1].at - w[0].at
        );
    }
    assert_on_time(&after[1..], 10_000);
}

#[test]
fn denial_reaches_the_client_as_access_denied() {
    let mut pair = Pair::new();
    let err = pair
        .login(Some(Person {
            after: 7_000,
            approve: false,
        }))
        .expect_err("denied");
    assert_eq!(err.code(), "access_denied");
    assert_eq!(err.status, Some(400));
    assert_eq!(
        pair.polls().last().unwrap().error.as_deref(),
        Some("access_denied")
    );
}

#[test]
fn nobody_approves_and_the_code_expires_on_both_sides() {
    let mut pair = Pair::new();
    let started = pair.now;
    let err = pair.login(None).expect_err("expired");
    assert_eq!(err.code(), "expired_token");
    let prompt = &pair.displays[0];
    assert_eq!(prompt.expires_in, 120);
    let polls = pair.polls();
    // Nothing is sent at or after the deadline; the client stops by itself at it.
    assert!(
        polls.iter().all(|p| p.at < prompt.expires_at.0),
        "{polls:?}"
    );
    assert!(polls
        .iter()
        .all(|p| p.error.as_deref() == Some("authorization_pending")));
    assert_on_time(&polls, 5_000);
    assert!(polls.len() >= 20, "{} polls in 120 s", polls.len());
    assert!(pair.now >= prompt.expires_at.0 && pair.now < started + 125_000);
}

#[test]
fn refresh_rotates_and_reuse_of_the_old_token_kills_the_grant() {
    let mut pair = Pair::new();
    let first = pair
        .login(Some(Person {
            after: 1_000,
            approve: true,
        }))
        .unwrap();
    let rt1 = first.refresh_token.clone().unwrap().expose().to_owned();
    pair.now += 60_000;
    let second = pair.refresh(&rt1).expect("refresh");
    let rt2 = second.refresh_token.clone().unwrap().expose().to_owned();
    assert_ne!(rt1, rt2, "rotated");
    assert_ne!(first.access_token.expose(), second.access_token.expose());
    pair.now += 60_000;
    let reuse = pair
        .refresh(&rt1)
        .expect_err("the rotated-out token is refused");
    assert_eq!(reuse.code(), "invalid_grant");
    // Reuse detection revoked the grant: the newest refresh token is dead too.
    pair.now += 1_000;
    let after = pair.refresh(&rt2).expect_err("the grant is gone");
    assert_eq!(after.code(), "invalid_grant");
    assert!(after.requires_login());
}

#[test]
fn revocation_ends_the_refresh_token() {
    let mut pair = Pair::new();
    let tokens = pair
        .login(Some(Person {
            after: 1_000,
            approve: true,
        }))
        .unwrap();
    let rt = tokens.refresh_token.clone().unwrap().expose().to_owned();
    pair.now += 10_000;
    let mut revoke = Revocation::new(
        RevocationConfig {
            client: Client::public("cli"),
            revocation_endpoint: format!("{ISSUER}/revoke"),
            token: Secret::new(rt.clone()),
            token_type_hint: Some(TokenTypeHint::RefreshToken),
            timing: Timing::default(),
        },
        Timestamp(pair.now),
    )
    .unwrap();
    let revoked = pair.drive(&mut revoke, None).expect("revoked");
    assert_eq!(revoked.status, 200);
    assert_eq!(pair.seen.last().unwrap().path, "/revoke");
    pair.now += 1_000;
    let err = pair.refresh(&rt).expect_err("a revoked refresh token");
    assert_eq!(err.code(), "invalid_grant");
}

#[test]
fn discovery_alone_reads_the_engines_metadata() {
    let mut pair = Pair::new();
    let mut d = Discovery::new(ISSUER, Timestamp(pair.now)).unwrap();
    let meta = pair.drive(&mut d, None).expect("metadata");
    assert_eq!(
        meta.device_authorization_endpoint.as_deref(),
        Some("https://as.example/device_authorization")
    );
    assert_eq!(
        meta.token_endpoint.as_deref(),
        Some("https://as.example/token")
    );
    assert_eq!(pair.seen.len(), 1);
}
