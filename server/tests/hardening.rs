//! The server as an attacker meets it, over real loopback sockets from many source addresses
//! (all of 127.0.0.0/8 is loopback): code-entry lockout, session eviction, restart, idle and
//! trickling connections, timeouts, trusted proxies, TLS.
// Each test states only the settings it changes from the defaults.
#![allow(clippy::field_reassign_with_default)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deviceflow_server::engine::codes::device_code_key;
use deviceflow_server::engine::Store;
use deviceflow_server::{spawn, ConnLimits, ServerConfig, ServerHandle, TlsFiles};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `127.0.A.B`: a loopback source address.
fn addr(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, a, b))
}

#[path = "fixtures/raw_http.rs"]
mod raw_http;
use raw_http::{connect_from, form, http, Reply};

fn json(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

fn authorize(s: &ServerHandle, from: IpAddr) -> Value {
    let r = http(
        from,
        s.local_addr(),
        "POST",
        "/device_authorization",
        &[],
        &form(&[("client_id", "deviceflow-cli")]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)
}

fn poll(s: &ServerHandle, from: IpAddr, device_code: &str) -> Value {
    let r = http(
        from,
        s.local_addr(),
        "POST",
        "/token",
        &[],
        &form(&[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "deviceflow-cli"),
            ("device_code", device_code),
        ]),
    );
    json(&r)
}

/// A browser at `from`: opens the page, returns (cookie, csrf).
fn browser(s: &ServerHandle, from: IpAddr) -> (String, String) {
    let r = http(from, s.local_addr(), "GET", "/device", &[], "");
    assert_eq!(r.status, 200);
    let csrf = r
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (r.cookie.expect("a session cookie"), csrf)
}

/// Posts `code` on the entry form as that browser.
fn enter(s: &ServerHandle, from: IpAddr, session: &(String, String), code: &str) -> Reply {
    http(
        from,
        s.local_addr(),
        "POST",
        "/device",
        &[("Cookie", &session.0)],
        &form(&[
            ("csrf", &session.1),
            ("username", "alice"),
            ("user_code", code),
        ]),
    )
}

fn decide(s: &ServerHandle, from: IpAddr, cookie: &str, csrf: &str, decision: &str) -> Reply {
    http(
        from,
        s.local_addr(),
        "POST",
        "/device/confirm",
        &[("Cookie", cookie)],
        &form(&[("csrf", csrf), ("decision", decision)]),
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn window_start(s: &ServerHandle) -> i64 {
    let now = now_ms();
    now - now.rem_euclid(s.engine().config.limits.window_ms)
}

/// Waits, if need be, until at least `room` is left in the current limit window, so that a
/// burst meant to trip a window's limits happens inside one window (the limits are fixed
/// windows: a burst across a boundary is split between two and trips neither).
fn with_room_in_window(s: &ServerHandle, room: std::time::Duration) {
    let w = s.engine().config.limits.window_ms;
    let left_ms = w - now_ms().rem_euclid(w);
    if left_ms < room.as_millis() as i64 {
        std::thread::sleep(std::time::Duration::from_millis(left_ms as u64 + 50));
    }
}

/// Each of `sources` makes `guesses` wrong entries, a fresh browser session per guess.
fn guess_wrong(s: &Arc<ServerHandle>, sources: Vec<IpAddr>, guesses: usize) {
    let chunks: Vec<Vec<IpAddr>> = sources.chunks(16).map(<[IpAddr]>::to_vec).collect();
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let s = s.clone();
            std::thread::spawn(move || {
                for from in chunk {
                    for _ in 0..guesses {
                        let session = browser(&s, from);
                        let r = enter(&s, from, &session, "BBBB-BBBB");
                        assert_eq!(r.status, 400, "a wrong code is only ever 'invalid'");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_right_code_gets_through_after_a_botnet_and_a_neighbour_tripped_every_limit() {
    // Default limits: 10 failures per address, 1,000 in all per 15 minutes.
    let s = Arc::new(spawn(ServerConfig::default()).unwrap());
    let device = addr(9, 9);
    let a = authorize(&s, device);
    // 101 addresses × 10 wrong guesses = 1,010 failures: every address and the global breaker
    // are over budget (the server's counters say so).
    let botnet: Vec<IpAddr> = (1..=101).map(|b| addr(1, b)).collect();
    with_room_in_window(&s, Duration::from_secs(120));
    guess_wrong(&s, botnet, 10);
    let w = window_start(&s);
    let store = &s.engine().store;
    assert!(store.counter("entry-fail:*", w).unwrap() >= 1_000);
    assert!(store.counter("entry-fail:127.0.1.1", w).unwrap() >= 10);

    // The victim, behind the same NAT as bot 127.0.1.1, in their own browser session.
    let code = a["user_code"].as_str().unwrap();
    let victim = addr(1, 1);
    let session = browser(&s, victim);
    let started = Instant::now();
    let r = enter(&s, victim, &session, code);
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&format!("id=\"user-code\">{code}<")));
    assert!(took < Duration::from_secs(8), "right code took {took:?}");
    eprintln!("right code under attack (same address): {took:?}");
    let cookie = r.cookie.unwrap();
    assert_eq!(
        decide(&s, victim, &cookie, &session.1, "approve").status,
        200
    );
    assert!(poll(&s, device, a["device_code"].as_str().unwrap())["access_token"].is_string());

    // And a victim at a clean address, also within seconds.
    let b = authorize(&s, device);
    let clean = addr(2, 1);
    let session = browser(&s, clean);
    let started = Instant::now();
    let r = enter(&s, clean, &session, b["user_code"].as_str().unwrap());
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(took < Duration::from_secs(8), "right code took {took:?}");
    eprintln!("right code under attack (clean address): {took:?}");
}

#[test]
fn over_budget_a_source_is_paced_one_guess_at_a_time_however_many_connections() {
    let mut config = ServerConfig::default();
    config.limits.failures_per_source = 2;
    config.limits.paced_entry_ms = 400;
    let s = Arc::new(spawn(config).unwrap());
    let attacker = addr(3, 1);
    with_room_in_window(&s, Duration::from_secs(30));
    guess_wrong(&s, vec![attacker], 2);
    // Eight concurrent guesses, eight sessions, eight connections: one at a time, 400 ms each.
    let started = Instant::now();
    guess_wrong(&s, vec![attacker; 8], 1);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(8 * 400), "{took:?}");
    // Meanwhile another address is not paced at all.
    let started = Instant::now();
    guess_wrong(&s, vec![addr(3, 2)], 1);
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[test]
fn sessions_survive_a_flood_of_cookieless_visits() {
    let s = spawn(ServerConfig::default()).unwrap();
    let a = authorize(&s, addr(4, 1));
    let victim = addr(4, 2);
    let session = browser(&s, victim);
    let r = enter(&s, victim, &session, a["user_code"].as_str().unwrap());
    assert_eq!(r.status, 200);
    let cookie = r.cookie.unwrap();
    // 10,000 new sessions (each visit without a cookie makes one), over keep-alive.
    let agent = ureq::Agent::new_with_defaults();
    for _ in 0..10_000 {
        let r = agent.get(&format!("{}/device", s.issuer())).call().unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = decide(&s, victim, &cookie, &session.1, "approve");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(poll(&s, addr(4, 1), a["device_code"].as_str().unwrap())["access_token"].is_string());
}

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "deviceflow-hardening-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("db.sqlite")
}

#[test]
fn a_restart_loses_no_pending_login_and_no_session() {
    let db = temp_db("restart");
    let config = || {
        let mut c = ServerConfig::default();
        c.database = Some(db.clone());
        c
    };
    let s = spawn(config()).unwrap();
    let port = s.local_addr().port();
    let (device, user) = (addr(5, 1), addr(5, 2));
    // One login halfway through the pages, one not started on the page at all.
    let a = authorize(&s, device);
    let b = authorize(&s, device);
    let session = browser(&s, user);
    let r = enter(&s, user, &session, a["user_code"].as_str().unwrap());
    assert_eq!(r.status, 200);
    let cookie = r.cookie.unwrap();
    s.shutdown();

    let mut again = config();
    again.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let s = spawn(again).unwrap();
    // The confirmation page's session still works: approve.
    let r = decide(&s, user, &cookie, &session.1, "approve");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(poll(&s, device, a["device_code"].as_str().unwrap())["access_token"].is_string());
    // The other code is still known on the page (the user-code key was kept).
    let session = browser(&s, user);
    let r = enter(&s, user, &session, b["user_code"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        decide(&s, user, &r.cookie.unwrap(), &session.1, "approve").status,
        200
    );
    assert!(poll(&s, device, b["device_code"].as_str().unwrap())["access_token"].is_string());
    s.shutdown();
}

fn quick_limits() -> ConnLimits {
    ConnLimits {
        max_connections: 300,
        max_connections_per_source: 20,
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(2),
    }
}

/// Opens `n` connections from each source and keeps them, some idle, some trickling a header.
fn hold(s: &ServerHandle, sources: &[IpAddr], n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for (i, &from) in sources.iter().enumerate() {
        for j in 0..n {
            let mut c = connect_from(from, s.local_addr());
            if (i + j) % 2 == 0 {
                let _ = c.write_all(b"GET /device HTTP/1.1\r\nX-Slow: ");
            }
            held.push(c);
        }
    }
    held
}

/// The worst time of `tries` metadata requests.
fn worst_request(s: &ServerHandle, from: IpAddr, tries: usize) -> Duration {
    (0..tries)
        .map(|_| {
            let started = Instant::now();
            let r = http(
                from,
                s.local_addr(),
                "GET",
                "/.well-known/oauth-authorization-server",
                &[],
                "",
            );
            assert_eq!(r.status, 200);
            started.elapsed()
        })
        .max()
        .unwrap()
}

#[test]
fn idle_and_trickling_sockets_cannot_keep_a_real_request_out() {
    let mut config = ServerConfig::default();
    config.connections = quick_limits();
    let s = spawn(config).unwrap();
    // 40 addresses × 20 connections = 800, well over the cap of 300.
    let sources: Vec<IpAddr> = (1..=40).map(|b| addr(6, b)).collect();
    let held = hold(&s, &sources, 20);
    // A client from a new address, and one from an address that holds its full share.
    let fresh = worst_request(&s, addr(7, 1), 20);
    let crowded = worst_request(&s, addr(6, 1), 20);
    eprintln!(
        "{} held connections: worst request {fresh:?} (new address), {crowded:?} (same address)",
        held.len()
    );
    assert!(fresh < Duration::from_secs(1), "{fresh:?}");
    assert!(crowded < Duration::from_secs(1), "{crowded:?}");
    drop(held);
}

#[test]
fn default_limits_hold_thousands_of_idle_connections_without_delay() {
    let s = spawn(ServerConfig::default()).unwrap();
    // 80 addresses × 64 (the per-address default) = 5,120 sockets, over the 4,096 default cap.
    let sources: Vec<IpAddr> = (1..=80).map(|b| addr(8, b)).collect();
    let held = hold(&s, &sources, 64);
    let worst = worst_request(&s, addr(8, 200), 50);
    eprintln!(
        "{} held connections: worst of 50 requests {worst:?}",
        held.len()
    );
    assert!(worst < Duration::from_secs(1), "{worst:?}");
}

#[test]
fn slow_heads_idle_keep_alives_and_slow_bodies_are_cut_off() {
    let mut config = ServerConfig::default();
    config.connections = quick_limits();
    let s = spawn(config).unwrap();
    let closed_within = |mut c: TcpStream, limit: Duration| {
        let started = Instant::now();
        c.set_read_timeout(Some(limit + Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let took = started.elapsed();
        assert!(took <= limit + Duration::from_millis(1500), "{took:?}");
        String::from_utf8_lossy(&seen).into_owned()
    };
    // A head trickled one byte at a time.
    let mut slow = connect_from(addr(10, 1), s.local_addr());
    slow.write_all(b"GET /device HTTP/1.1\r\n").unwrap();
    let writer = {
        let mut w = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(200));
                if w.write_all(b"X").is_err() {
                    break;
                }
            }
        })
    };
    closed_within(slow, Duration::from_secs(2));
    writer.join().unwrap();
    // A keep-alive connection left idle after one request.
    let mut idle = connect_from(addr(10, 2), s.local_addr());
    idle.write_all(b"GET /device HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let seen = closed_within(idle, Duration::from_secs(3));
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    // A body that never finishes: 408.
    let mut body = connect_from(addr(10, 3), s.local_addr());
    body.write_all(
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\ngrant_type=",
    )
    .unwrap();
    let seen = closed_within(body, Duration::from_secs(2));
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
}

#[test]
fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let mut config = ServerConfig::default();
    config.trusted_proxies = vec!["127.0.11.1/32".parse().unwrap()];
    let s = spawn(config).unwrap();
    let source_of = |from: IpAddr, xff: &str| {
        let r = http(
            from,
            s.local_addr(),
            "POST",
            "/device_authorization",
            &[("X-Forwarded-For", xff)],
            &form(&[("client_id", "deviceflow-cli")]),
        );
        let code = json(&r)["device_code"].as_str().unwrap().to_owned();
        s.engine()
            .store
            .device_by_code(&device_code_key(&code))
            .unwrap()
            .unwrap()
            .source
    };
    assert_eq!(source_of(addr(11, 1), "203.0.113.5"), "203.0.113.5");
    assert_eq!(
        source_of(addr(11, 1), "198.51.100.1, 203.0.113.6, 127.0.11.1"),
        "203.0.113.6"
    );
    assert_eq!(source_of(addr(11, 2), "203.0.113.5"), "127.0.11.2");
}

#[test]
fn tls_serves_https_with_secure_host_cookies() {
    let dir = temp_db("tls").parent().unwrap().to_owned();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut config = ServerConfig::default();
    config.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let s = spawn(config).unwrap();
    assert!(
        s.issuer().starts_with("https://127.0.0.1:"),
        "{}",
        s.issuer()
    );
    let roots =
        ureq::tls::RootCerts::new_with_certs(&[
            ureq::tls::Certificate::from_der(cert.cert.der()).to_owned()
        ]);
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .max_redirects(0)
            .build(),
    );
    let mut r = agent
        .get(&format!(
            "{}/.well-known/oauth-authorization-server",
            s.issuer()
        ))
        .call()
        .unwrap();
    let meta: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(meta["issuer"], s.issuer());
    let r = agent.get(&format!("{}/device", s.issuer())).call().unwrap();
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with("__Host-deviceflow_session="), "{set}");
    assert!(set.contains("; Secure"), "{set}");
    // Plain http on the TLS port gets nowhere, and a stalled handshake is cut off.
    let r = http(addr(12, 1), s.local_addr(), "GET", "/device", &[], "");
    assert_ne!(r.status, 200);
    let _ = r.headers;
}

#[test]
fn the_confirmation_page_says_when_the_device_asked_from_another_network() {
    let s = spawn(ServerConfig::default()).unwrap();
    let (device, phone) = (addr(13, 1), addr(13, 2));
    let a = authorize(&s, device);
    let r = enter(
        &s,
        phone,
        &browser(&s, phone),
        a["user_code"].as_str().unwrap(),
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"other-network\""));
    assert!(r
        .body
        .contains("(127.0.13.1) than this browser (127.0.13.2)"));
    let b = authorize(&s, device);
    let r = enter(
        &s,
        device,
        &browser(&s, device),
        b["user_code"].as_str().unwrap(),
    );
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("other-network"));
}
