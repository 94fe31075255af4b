//! `deviceflow serve` as a process: what a crash, a low file limit and a lost response do to
//! a login in progress. (The same rules at the library level: `server/tests/hardening.rs`.)
#![cfg(all(unix, feature = "server"))]

mod common;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCOPE: &str = "openid profile email offline_access";

/// `deviceflow --json serve ARGS`; returns the process and its issuer.
fn serve(args: &[&str], files: Option<u64>) -> (Running, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    cmd.args(["--json", "serve", "--interval", "1", "--dev-sign-in"])
        .args(args)
        .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
        .stdin(Stdio::null());
    if let Some(n) = files {
        // SAFETY: only setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut r = Running::spawn(cmd);
    let line = r.next_stdout().expect("serve prints its issuer");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["status"], "serving", "{line}");
    let issuer = v["issuer"].as_str().unwrap().to_owned();
    (r, issuer)
}

fn kill9(r: Running) {
    // SAFETY: SIGKILL to our own child.
    unsafe { libc::kill(r.pid() as i32, libc::SIGKILL) };
    let _ = r.finish();
}

fn login(home: &Home, issuer: &str) -> (Running, String) {
    let mut r = Running::spawn(json_login(home, issuer, "deviceflow-cli", SCOPE));
    let first: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization");
    let code = first["user_code"].as_str().unwrap().to_owned();
    (r, code)
}

fn port_of(issuer: &str) -> String {
    issuer.rsplit(':').next().unwrap().to_owned()
}

#[test]
fn kill_9_mid_login_then_restart_loses_nothing() {
    let dir = Home::new("serve-kill9");
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("db.sqlite");
    let db = db.to_str().unwrap();
    let (server, issuer) = serve(&["--port", "0", "--db", db], None);
    let port = port_of(&issuer);
    let home = Home::new("serve-kill9-client");
    let (client, code) = login(&home, &issuer);
    // The server dies with the code pending and the client polling.
    kill9(server);
    std::thread::sleep(Duration::from_millis(500));
    let (server, again) = serve(&["--port", &port, "--db", db], None);
    assert_eq!(again, issuer);
    // The code shown before the crash is entered and approved after it.
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", true).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Approved);
    let (status, out, err) = client.finish();
    assert_eq!(status, 0, "{out:?} {err:?}");
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");
    // The database file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "database file mode {mode:o}");
    kill9(server);
}

/// A proxy in front of `upstream` that swallows the first token response carrying tokens
/// (the connection just closes, as when a response is lost on the way). Counts token polls.
fn lossy_proxy(upstream: SocketAddr) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (dropped, polls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (d, p) = (dropped.clone(), polls.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let (d, p) = (d.clone(), p.clone());
            std::thread::spawn(move || {
                // One request per connection (the CLI's transport does not reuse them here).
                let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
                let mut req = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Ok(n) = client.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                    if complete(&req) {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&req).into_owned();
                if text.contains("device_code=") {
                    p.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut up) = TcpStream::connect(upstream) else {
                    return;
                };
                // One request per upstream connection: ask the server to close after it.
                let at = req.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
                req.splice(at..at, b"Connection: close\r\n".iter().copied());
                let _ = up.write_all(&req);
                let mut resp = Vec::new();
                let _ = up.read_to_end(&mut resp);
                let lose = String::from_utf8_lossy(&resp).contains("\"access_token\"")
                    && d.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                if !lose {
                    let _ = client.write_all(&resp);
                }
            });
        }
    });
    (format!("http://{addr}"), dropped, polls)
}

/// A whole request (head + Content-Length body) has arrived.
fn complete(req: &[u8]) -> bool {
    let text = String::from_utf8_lossy(req);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= len
}

#[test]
fn a_lost_token_response_does_not_cost_the_login() {
    let (server, issuer) = serve(&["--port", "0"], None);
    let upstream: SocketAddr = issuer.trim_start_matches("http://").parse().unwrap();
    let (proxy, dropped, polls) = lossy_proxy(upstream);
    let home = Home::new("serve-lost-response");
    let mut cmd = cli(&home);
    cmd.args([
        "--json",
        "login",
        "--client-id",
        "deviceflow-cli",
        "--scope",
        SCOPE,
    ])
    .args([
        "--device-endpoint",
        &format!("{proxy}/device_authorization"),
    ])
    .args(["--token-endpoint", &format!("{proxy}/token")])
    .args(["--no-open", "--store", "file"]);
    let mut client = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&client.next_stdout().unwrap()).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization", "{first}");
    let code = first["user_code"].as_str().unwrap().to_owned();
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", true).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Approved);
    let (status, out, err) = client.finish();
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the proxy lost one token response"
    );
    assert!(polls.load(Ordering::SeqCst) >= 2);
    assert_eq!(status, 0, "{out:?} {err:?}");
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");
    // The tokens the client kept are the live ones: the server answers userinfo with them.
    let access = home.stored("default")["secrets"]["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut s = TcpStream::connect(upstream).unwrap();
    write!(
        s,
        "GET /userinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {access}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"sub\":\"alice\""), "{resp}");
    kill9(server);
}

fn connect_from(from: IpAddr, to: SocketAddr) -> Option<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    sock.bind(&SocketAddr::new(from, 0).into()).ok()?;
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .ok()?;
    Some(sock.into())
}

#[test]
fn a_low_file_limit_and_thousands_of_idle_sockets_do_not_make_the_server_unreachable() {
    // 256 descriptors in all for the server; 2,000 sockets held open against it.
    let (server, issuer) = serve(&["--port", "0"], Some(256));
    let to: SocketAddr = issuer.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for a in 1..=40u8 {
        for _ in 0..50 {
            if let Some(c) = connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 20, a)), to) {
                held.push(c);
            }
        }
    }
    assert!(
        held.len() >= 1_900,
        "only {} connections opened",
        held.len()
    );
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let mut s = connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 21, 1)), to).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp:?}");
        worst = worst.max(started.elapsed());
    }
    eprintln!(
        "{} idle sockets, 256 descriptors: worst request {worst:?}",
        held.len()
    );
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    drop(held);
    kill9(server);
}
