//! Shared by the token hand-off, shared-refresh and keyring tests: a profile written in the
//! documented file format, `deviceflow serve` with its audit log and metrics, a login approved
//! through its real page, and a small HTTP server that checks the credentials it is sent.
#![allow(dead_code)]

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

pub const SCOPE: &str = "openid profile offline_access";

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A profile in the file store, as the README's "Profile files" section describes it, with a
/// token that needs no server (`expires_at_ms` far ahead) unless the test says otherwise.
pub fn write_profile(home: &Home, name: &str, token: &str, expires_at_ms: Option<u64>) {
    let file = json!({
        "version": 1,
        "profile": {
            "name": name,
            "device_authorization_endpoint": "http://127.0.0.1:9/device",
            "token_endpoint": "http://127.0.0.1:9/token",
            "client_id": "cli",
            "client_auth": "none",
            "store": "file",
            "logged_in_at_ms": 1
        },
        "secrets": {"tokens": {
            "access_token": token, "token_type": "Bearer", "expires_at": expires_at_ms,
            "refresh_token": null, "extra": {}
        }}
    });
    let path = home.profile_file(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, file.to_string()).unwrap();
}

/// `deviceflow --json serve --dev-sign-in --audit-log --metrics 127.0.0.1:0` on a free port.
pub struct Serve {
    pub run: Running,
    pub issuer: String,
    pub metrics: String,
    /// Audit events read from its stderr so far.
    pub audit: Vec<Value>,
}

impl Serve {
    pub fn start() -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
        cmd.args(["--json", "serve", "--port", "0", "--interval", "1"])
            .args(["--dev-sign-in", "--audit-log", "--metrics", "127.0.0.1:0"])
            .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
            .stdin(Stdio::null());
        let mut run = Running::spawn(cmd);
        let ready: Value = serde_json::from_str(&run.next_stdout().unwrap()).unwrap();
        assert_eq!(ready["status"], "serving", "{ready}");
        Serve {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            metrics: ready["metrics"].as_str().expect("metrics URL").to_owned(),
            run,
            audit: Vec::new(),
        }
    }

    /// The audit events of this kind (`refresh`, `reuse_detected`, …) so far. Waits a
    /// moment first: the server writes them as it answers, and its stderr is read by a thread.
    pub fn audit_events(&mut self, kind: &str) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(300));
        while let Ok(line) = self.run.stderr_lines.try_recv() {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                self.audit.push(v);
            }
        }
        self.audit.iter().filter(|e| e["event"] == kind).count()
    }

    /// One counter of the Prometheus scrape (0 when the series does not exist yet).
    pub fn metric(&self, series: &str) -> u64 {
        let (status, _, body) = http_get(&self.metrics, &[]);
        assert_eq!(status, 200);
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.trim().parse::<f64>().unwrap() as u64)
            .unwrap_or(0)
    }

    pub fn stop(self) {
        // SAFETY: SIGINT to our own child, as Ctrl-C would.
        unsafe { libc::kill(self.run.pid() as i32, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

impl Drop for Serve {
    /// Also when a test fails half-way: the server never outlives it.
    fn drop(&mut self) {
        // SAFETY: signals to our own child.
        unsafe { libc::kill(self.run.pid() as i32, libc::SIGKILL) };
    }
}

/// `deviceflow --json login` against the server, approved as `alice` through its page.
/// `extra`: more arguments (`--store keyring`, …); `env`: more environment.
pub fn login(
    home: &Home,
    issuer: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Vec<String>, Vec<String>) {
    let mut cmd = cli(home);
    cmd.args(["--json", "login", "--issuer", issuer])
        .args([
            "--client-id",
            "deviceflow-cli",
            "--scope",
            SCOPE,
            "--no-open",
        ])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut r = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&r.next_stdout().expect("a first line")).unwrap();
    if first["status"] == "waiting_for_authorization" {
        let code = first["user_code"].as_str().unwrap();
        deviceflow_server::approve_via_page(issuer, code, "alice", true).unwrap();
    }
    r.finish()
}

/// A minimal HTTP/1.1 client: (status, headers, body).
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = TcpStream::connect(host).unwrap();
    let mut req = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// What a [`CheckingServer`] answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Handler = dyn Fn(&str, Option<&str>) -> Reply + Send + Sync;

/// An HTTP server on 127.0.0.1 that records the path and `Authorization` header of every
/// request and answers with `handler(path, authorization)`.
pub struct CheckingServer {
    pub url: String,
    /// (path, Authorization header) of each request.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

type Seen = (String, Option<String>);

impl CheckingServer {
    pub fn start(handler: Arc<Handler>) -> CheckingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (handler, seen) = (handler.clone(), seen2.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let (mut auth, mut len) = (None, 0usize);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        let (k, v) = line.split_once(':').unwrap_or((&line, ""));
                        match k.to_ascii_lowercase().as_str() {
                            "authorization" => auth = Some(v.trim().to_owned()),
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut sink = vec![0u8; len];
                    let _ = reader.read_exact(&mut sink);
                    seen.lock().unwrap().push((path.clone(), auth.clone()));
                    let r = handler(&path, auth.as_deref());
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                        r.status,
                        r.body.len()
                    );
                    for (k, v) in &r.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&r.body);
                });
            }
        });
        CheckingServer { url, seen }
    }

    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, a)| a.clone())
            .collect()
    }
}
