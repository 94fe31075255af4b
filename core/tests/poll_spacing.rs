//! Poll spacing measured where it counts: at a real server, over TCP on 127.0.0.1.
//!
//! The server here is as strict as a server can be: it answers `slow_down` to any
//! token poll that *arrives* less than the interval (1 s) after the previous one,
//! by even a millisecond, which is how servers in the wild count (from the previous
//! request's arrival). The machine, driven by a plain blocking client, must never
//! earn one, both over bare loopback and through a proxy that delays every chunk in
//! each direction by a random 0-120 ms (a slow, jittery link); and it must still
//! poll no later than the interval + margin + the round trip, so an approval is
//! picked up as soon as by a poller at the interval.
//!
//! The control shows the server and the proxy catch early polls: a poller spaced
//! exactly one interval from its previous *send* (the obvious way to pick up
//! approvals one round trip sooner) is told `slow_down` through the same proxy.
//! `pacer.rs` explains the choice. Every scenario runs at once (about 11 s).

use deviceflow::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const INTERVAL_MS: u64 = 1_000;
/// Pending answers before the server hands out tokens.
const POLLS: usize = 9;
const JITTER_MS: u64 = 120;

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
            / 1000,
    )
}

/// A small xorshift generator: the jitter needs no quality, only variety.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        Rng(t.as_nanos() as u64 | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Reads one HTTP/1.1 message (head + Content-Length body); `None` at EOF.
fn read_message(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((head, buf[head_end..head_end + length].to_vec()))
}

fn write_json(s: &mut TcpStream, status: u16, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(msg.as_bytes());
    let _ = s.shutdown(Shutdown::Write);
}

/// What the strict server saw: gaps between token poll arrivals, and slow_downs sent.
#[derive(Default, Debug)]
struct Seen {
    last: Option<Instant>,
    gaps_ms: Vec<f64>,
    slow_downs: usize,
    pending: usize,
}

/// A device endpoint (interval 1 s) and a token endpoint that counts from arrivals.
fn strict_server() -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    let verification = format!("{base}/activate");
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let seen = shared.clone();
            let verification = verification.clone();
            thread::spawn(move || {
                let Some((head, _)) = read_message(&mut s) else {
                    return;
                };
                let arrived = Instant::now();
                if head.starts_with("POST /device") {
                    let body = format!(
                        r#"{{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"{verification}","expires_in":120,"interval":{}}}"#,
                        INTERVAL_MS / 1000
                    );
                    return write_json(&mut s, 200, &body);
                }
                let mut seen = seen.lock().unwrap();
                if let Some(last) = seen.last {
                    let gap = arrived.duration_since(last).as_secs_f64() * 1e3;
                    seen.gaps_ms.push(gap);
                    if gap < INTERVAL_MS as f64 {
                        seen.slow_downs += 1;
                        seen.last = Some(arrived);
                        return write_json(&mut s, 400, r#"{"error":"slow_down"}"#);
                    }
                }
                seen.last = Some(arrived);
                if seen.pending < POLLS {
                    seen.pending += 1;
                    return write_json(&mut s, 400, r#"{"error":"authorization_pending"}"#);
                }
                write_json(
                    &mut s,
                    200,
                    r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
                );
            });
        }
    });
    (base, seen)
}

/// Copies `from` to `to`, holding each chunk back a random 0..`jitter_ms` (in order).
fn pump(mut from: TcpStream, mut to: TcpStream, jitter_ms: u64) {
    let mut rng = Rng::seeded();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                thread::sleep(Duration::from_millis(rng.below(jitter_ms + 1)));
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A TCP proxy to `upstream` ("http://host:port") adding jitter both ways.
fn jittery_link(upstream: &str) -> String {
    let target = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || pump(client, server, JITTER_MS));
            thread::spawn(move || pump(s2, c2, JITTER_MS));
        }
    });
    base
}

/// A blocking HTTP/1.1 client: one connection per request, 10 s deadline.
fn send(req: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let rest = req.url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).map_err(|_| TransportError::Connect)?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut msg = format!(
        "{} {path} HTTP/1.1\r\nhost: {host}\r\n",
        req.method.as_str()
    );
    for h in &req.headers {
        msg.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    msg.push_str(&format!("content-length: {}\r\n\r\n", req.body.len()));
    let mut bytes = msg.into_bytes();
    bytes.extend_from_slice(&req.body);
    s.write_all(&bytes).map_err(|_| TransportError::Io)?;
    let (head, body) = read_message(&mut s).ok_or(TransportError::Io)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or(TransportError::Io)?;
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| Header::new(k.trim(), v.trim()))
        .collect();
    Ok(HttpResponse::new(status, headers, body))
}

/// Logs in through `base` with the machine; returns each poll's wait after a reply.
fn login(base: &str) -> TokenSet {
    let config = Config::new("c", format!("{base}/device"), format!("{base}/token"));
    let mut flow = DeviceFlow::new(config, now()).unwrap();
    loop {
        match flow.poll_action(now()) {
            Action::Send(req) => match send(&req) {
                Ok(resp) => flow.handle_response(req.id, resp, now()).unwrap(),
                Err(kind) => flow.handle_transport_error(req.id, kind, now()).unwrap(),
            },
            Action::Wait { delay_ms, .. } => thread::sleep(Duration::from_millis(delay_ms)),
            Action::Display(_) => {}
            Action::Done(tokens) => return tokens,
            other => panic!("{other:?}"),
        }
    }
}

/// The control: token polls exactly one interval after the previous poll was sent.
fn poll_from_send(base: &str) {
    let token = HttpRequest {
        id: RequestId(1),
        method: Method::Post,
        url: format!("{base}/token"),
        headers: vec![Header::new(
            "content-type",
            "application/x-www-form-urlencoded",
        )],
        body: b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc&client_id=c".to_vec(),
        timeout_ms: None,
    };
    let mut next = Instant::now();
    for _ in 0..=POLLS {
        let sent = Instant::now().max(next);
        thread::sleep(sent.saturating_duration_since(Instant::now()));
        next = sent + Duration::from_millis(INTERVAL_MS);
        let resp = send(&token).expect("the control's poll");
        if resp.status == 200 {
            return;
        }
    }
}

fn summary(seen: &Seen) -> String {
    let mut g = seen.gaps_ms.clone();
    g.sort_by(f64::total_cmp);
    format!(
        "{} gaps, min {:.1} ms, median {:.1} ms, max {:.1} ms, slow_down {}",
        g.len(),
        g.first().copied().unwrap_or(f64::NAN),
        g.get(g.len() / 2).copied().unwrap_or(f64::NAN),
        g.last().copied().unwrap_or(f64::NAN),
        seen.slow_downs
    )
}

#[test]
fn polls_never_arrive_early_and_are_not_late() {
    let (direct, direct_seen) = strict_server();
    let (upstream, jitter_seen) = strict_server();
    let jittery = jittery_link(&upstream);
    let (control_upstream, control_seen) = strict_server();
    let control = jittery_link(&control_upstream);

    let runs = [
        thread::spawn(move || login(&direct).access_token.expose().to_owned()),
        thread::spawn(move || login(&jittery).access_token.expose().to_owned()),
        thread::spawn(move || {
            poll_from_send(&control);
            "control".to_owned()
        }),
    ];
    let outcomes: Vec<String> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(outcomes, ["at", "at", "control"]);

    let margin = Timing::default().margin_ms;
    for (name, seen, link_ms) in [
        ("loopback", &direct_seen, 0),
        ("jittery link", &jitter_seen, 2 * JITTER_MS),
    ] {
        let seen = seen.lock().unwrap();
        eprintln!("{name}: {}", summary(&seen));
        assert_eq!(seen.gaps_ms.len(), POLLS, "{name}: {seen:?}");
        assert_eq!(seen.slow_downs, 0, "{name}: a poll arrived early: {seen:?}");
        // Not late either: interval + margin + at most the round trip (two jittered
        // legs), plus 150 ms for scheduling on a busy machine.
        let late = (INTERVAL_MS + margin + link_ms + 150) as f64;
        let worst = seen.gaps_ms.iter().copied().fold(0.0, f64::max);
        assert!(worst < late, "{name}: a gap of {worst:.1} ms: {seen:?}");
    }
    let control = control_seen.lock().unwrap();
    eprintln!(
        "control (send-based, no margin) through the jittery link: {}",
        summary(&control)
    );
    assert!(
        control.slow_downs > 0,
        "the strict server never caught the send-spaced control early: {control:?}"
    );
}
