//! Two `deviceflow serve --database postgres://…` processes behind a load balancer (a TCP
//! forwarder in this test that sends each new connection to the first instance that accepts it).
//! A login starts through instance 1; instance 1 is killed with SIGKILL mid-login; the client's
//! retries reach instance 2, the code is approved on instance 2's page, and the login completes.
//! Needs `DEVICEFLOW_TEST_POSTGRES` (tests/with-postgres.sh); says SKIPPED without it.
#![cfg(all(unix, feature = "server"))]

mod common;
#[path = "../../server/tests/pg/mod.rs"]
mod pg;

use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A load balancer: each accepted connection goes to the first upstream, in order from the last
/// one that worked, that accepts a TCP connection; bytes are copied both ways until either side
/// closes. Counts the token requests (`POST /token`) each upstream was sent.
struct Forwarder {
    addr: SocketAddr,
    upstreams: Arc<Mutex<Vec<SocketAddr>>>,
    token_requests: Arc<Vec<AtomicUsize>>,
}

impl Forwarder {
    fn start(slots: usize) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let upstreams: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let token_requests: Arc<Vec<AtomicUsize>> =
            Arc::new((0..slots).map(|_| AtomicUsize::new(0)).collect());
        let (ups, counts) = (upstreams.clone(), token_requests.clone());
        let current = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let list = ups.lock().unwrap().clone();
                let start = current.load(Ordering::SeqCst);
                let picked = (0..list.len())
                    .map(|k| (start + k) % list.len())
                    .find_map(|i| {
                        TcpStream::connect_timeout(&list[i], Duration::from_secs(2))
                            .ok()
                            .map(|up| (i, up))
                    });
                let Some((i, upstream)) = picked else {
                    continue; // nobody up: the client sees the connection close
                };
                current.store(i, Ordering::SeqCst);
                pipe(client, upstream, counts.clone(), i);
            }
        });
        Forwarder {
            addr,
            upstreams,
            token_requests,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn token_requests(&self, i: usize) -> usize {
        self.token_requests[i].load(Ordering::SeqCst)
    }
}

/// Copies both ways; counts the `POST /token` request heads sent upstream (a client writes a
/// request head at once, so each arrives whole in one read).
fn pipe(client: TcpStream, upstream: TcpStream, counts: Arc<Vec<AtomicUsize>>, i: usize) {
    let copy =
        |mut from: TcpStream, mut to: TcpStream, count: Option<(Arc<Vec<AtomicUsize>>, usize)>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Some((counts, i)) = &count {
                                let heads = buf[..n]
                                    .windows(12)
                                    .filter(|w| w == b"POST /token ")
                                    .count();
                                counts[*i].fetch_add(heads, Ordering::SeqCst);
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
                let _ = from.shutdown(Shutdown::Read);
            });
        };
    copy(
        client.try_clone().unwrap(),
        upstream.try_clone().unwrap(),
        Some((counts, i)),
    );
    copy(upstream, client, None);
}

/// A `deviceflow serve` process, killed with SIGKILL when dropped.
struct Instance {
    running: Option<Running>,
    listen: SocketAddr,
}

impl Instance {
    fn start(url: &str, password: &str, issuer: &str) -> Instance {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
        cmd.args(["--json", "serve", "--interval", "1", "--dev-sign-in"])
            .args(["--port", "0", "--issuer", issuer, "--database", url])
            .env("DEVICEFLOW_DATABASE_PASSWORD", password)
            .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
            .stdin(Stdio::null());
        let mut running = Running::spawn(cmd);
        let line = running.next_stdout().expect("serve prints a status line");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], "serving", "{line}");
        assert_eq!(v["issuer"], issuer);
        let listen = v["listen"].as_str().unwrap().parse().unwrap();
        Instance {
            running: Some(running),
            listen,
        }
    }

    fn kill9(&mut self) {
        if let Some(r) = self.running.take() {
            // SAFETY: SIGKILL to our own child.
            unsafe { libc::kill(r.pid() as i32, libc::SIGKILL) };
            let _ = r.finish();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The schema URL without its password, and the password (given to `serve` in the environment,
/// never on the command line, where `ps` would show it).
fn split_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (format!("{scheme}://{user}@{host}"), password.to_owned())
}

#[test]
fn kill_9_of_one_instance_mid_login_and_the_client_completes_through_another() {
    let Some(schema) = pg::Schema::new("cli kill -9") else {
        return;
    };
    let (url, password) = split_password(&schema.url);
    let lb = Forwarder::start(2);
    let issuer = lb.url();
    let mut one = Instance::start(&url, &password, &issuer);
    let two = Instance::start(&url, &password, &issuer);
    *lb.upstreams.lock().unwrap() = vec![one.listen, two.listen];

    let home = Home::new("serve-postgres");
    let mut cmd = cli(&home);
    cmd.args(["--json", "login", "--issuer", &issuer])
        .args([
            "--client-id",
            "deviceflow-cli",
            "--scope",
            "openid offline_access",
        ])
        .args(["--no-open", "--store", "file"]);
    let mut client = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&client.next_stdout().unwrap()).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization", "{first}");
    let code = first["user_code"].as_str().unwrap().to_owned();
    // The client is polling instance 1 (the balancer's first choice) when it dies.
    std::thread::sleep(Duration::from_millis(2_500));
    let before = lb.token_requests(0);
    assert!(before >= 1, "the client polled instance 1");
    assert_eq!(lb.token_requests(1), 0);
    one.kill9();

    // Approved on the page, through the balancer: that is instance 2 now.
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", true).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Approved);
    let (status, out, err) = client.finish();
    assert_eq!(status, 0, "{out:?} {err:?}");
    let last = ndjson(&out).pop().unwrap();
    assert_eq!(last["status"], "authenticated", "{out:?}");
    assert_eq!(
        lb.token_requests(0),
        before,
        "nothing reached the dead instance"
    );
    assert!(
        lb.token_requests(1) >= 1,
        "the client's retries went to instance 2"
    );
    assert_eq!(
        schema.int("SELECT count(*) FROM tokens"),
        2,
        "one token set"
    );
    assert_eq!(
        schema.rows("SELECT status, subject FROM devices"),
        vec![vec![Some("consumed".to_owned()), Some("alice".to_owned())]]
    );
    // The stored login works against the cluster: a refresh through the balancer.
    let mut cmd = cli(&home);
    cmd.args(["--json", "refresh"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    drop(two);
}
