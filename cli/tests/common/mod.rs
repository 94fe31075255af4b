//! Test harness: a real node-oidc-provider on 127.0.0.1 (`tests/e2e/provider.mjs`),
//! approval through its own pages (`tests/e2e/approve.mjs`), and the built binary.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A test that cannot run says so, never passes quietly: `SKIPPED: <why>` goes to the real
/// stderr (written past the test harness's capture, so `cargo test` shows it and tests/run.sh
/// lists the rust suite as skipped), and with `CI=true` the test fails instead (in CI a missing
/// tool is a broken setup, not a pass). Call it, then `return`.
pub fn skip(why: &str) {
    use std::io::Write as _;
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("SKIPPED: {why} (CI=true: a test that cannot run fails; run tests/setup.sh)");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {why} (run tests/setup.sh; with CI=true this fails)"
    );
}

/// False (after [`skip`]) when node or tests/node_modules is missing: the e2e tests skip.
pub fn node_ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let modules = repo().join("tests/node_modules/oidc-provider").is_dir();
    if !node || !modules {
        skip(&format!(
            "end-to-end CLI tests need `node` and `npm ci --prefix tests` (node: {node}, tests/node_modules: {modules})"
        ));
    }
    node && modules
}

/// `node` on PATH (enough for `tests/hostile/server.mjs`, which needs no packages).
pub fn node_available() -> bool {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("the hostile-server suite needs `node` on PATH");
    }
    ok
}

/// The shared hostile-server suite (`tests/hostile/server.mjs`): what its ready line says.
pub struct Hostile {
    child: Child,
    _stdin: ChildStdin,
    pub base: String,
    /// `client_id`, `timeout_ms`, `timing`, `budget_ms`.
    pub options: Value,
    /// `{name, about, expect: [code, ...]}` per case.
    pub cases: Vec<Value>,
}

impl Hostile {
    pub fn start() -> Hostile {
        let mut child = Command::new("node")
            .arg(repo().join("tests/hostile/server.mjs"))
            .env("MAX_LIFETIME", "240")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn node tests/hostile/server.mjs");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("hostile server ready line ({e}): {line:?}"));
        Hostile {
            child,
            _stdin: stdin,
            base: v["base"].as_str().expect("base").to_owned(),
            options: v["options"].clone(),
            cases: v["cases"].as_array().expect("cases").clone(),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Provider {
    child: Child,
    _stdin: ChildStdin,
    pub issuer: String,
}

impl Provider {
    pub fn start(env: &[(&str, &str)]) -> Provider {
        let mut cmd = Command::new("node");
        cmd.arg(repo().join("tests/e2e/provider.mjs"))
            .env("PORT", "0")
            .env("DEVICE_INTERVAL", "1")
            .env("MAX_LIFETIME", "240")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn node provider.mjs");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).expect("provider ready line");
        Provider {
            child,
            _stdin: stdin,
            issuer: v["issuer"].as_str().unwrap().to_owned(),
        }
    }

    /// Approves (or denies) a user code through the provider's HTML pages.
    pub fn approve(&self, user_code: &str, deny: bool) {
        let mut cmd = Command::new("node");
        cmd.arg(repo().join("tests/e2e/approve.mjs")).args([
            "--issuer",
            &self.issuer,
            "--user-code",
            user_code,
        ]);
        if deny {
            cmd.arg("--deny");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "approve.mjs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch config dir per test, removed at the end.
pub struct Home(pub PathBuf);

impl Home {
    pub fn new(name: &str) -> Home {
        let d =
            std::env::temp_dir().join(format!("deviceflow-cli-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        Home(d)
    }
    pub fn profile_file(&self, profile: &str) -> PathBuf {
        self.0.join("profiles").join(format!("{profile}.json"))
    }
    pub fn stored(&self, profile: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.profile_file(profile)).unwrap()).unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The CLI with a clean environment: no proxy, no CI, no display, own config dir.
pub fn cli(home: &Home) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    for var in [
        "DEVICEFLOW_CLIENT_SECRET",
        "DEVICEFLOW_CLIENT_ID",
        "DEVICEFLOW_PROFILE",
        "DEVICEFLOW_HTTP_TIMEOUT",
        "DEVICEFLOW_TIMING",
        "DISPLAY",
        "WAYLAND_DISPLAY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("DEVICEFLOW_CONFIG_DIR", &home.0)
        .stdin(Stdio::null());
    cmd
}

/// `deviceflow --json login` against `issuer` as `client_id` for `scope`: no browser, tokens in
/// the file store. The caller adds what its test needs and spawns it.
pub fn json_login(home: &Home, issuer: &str, client_id: &str, scope: &str) -> Command {
    let mut cmd = cli(home);
    cmd.args([
        "--json",
        "login",
        "--issuer",
        issuer,
        "--client-id",
        client_id,
    ])
    .args(["--scope", scope, "--no-open", "--store", "file"]);
    cmd
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("output is UTF-8")
}

/// A running `login`: lines of stdout and stderr arrive on channels as they are written.
pub struct Running {
    child: Child,
    pub stdout_lines: mpsc::Receiver<String>,
    pub stderr_lines: mpsc::Receiver<String>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

fn pump(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

const LINE_TIMEOUT: Duration = Duration::from_secs(60);

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout_lines = pump(child.stdout.take().unwrap());
        let stderr_lines = pump(child.stderr.take().unwrap());
        Running {
            child,
            stdout_lines,
            stderr_lines,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line (panics after a minute).
    pub fn next_stdout(&mut self) -> Option<String> {
        let l = self.stdout_lines.recv_timeout(LINE_TIMEOUT).ok()?;
        self.stdout.push(l.clone());
        Some(l)
    }

    /// Reads stderr until a line contains `needle`; returns that line.
    pub fn stderr_until(&mut self, needle: &str) -> String {
        loop {
            let l = self
                .stderr_lines
                .recv_timeout(LINE_TIMEOUT)
                .unwrap_or_else(|_| {
                    panic!("no stderr line with {needle:?}; got {:?}", self.stderr)
                });
            self.stderr.push(l.clone());
            if l.contains(needle) {
                return l;
            }
        }
    }

    /// Waits for exit and collects the rest of the output.
    pub fn finish(mut self) -> (i32, Vec<String>, Vec<String>) {
        let status = wait_timeout(&mut self.child, Duration::from_secs(90));
        self.stdout.extend(self.stdout_lines.iter());
        self.stderr.extend(self.stderr_lines.iter());
        (status, self.stdout, self.stderr)
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the CLI did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every stdout line is one JSON object; returns them.
pub fn ndjson(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "not an object: {l}");
            assert!(v["status"].is_string(), "no status: {l}");
            l.find("\"status\"")
                .filter(|&i| i == 1)
                .unwrap_or_else(|| panic!("status is not first: {l}"));
            v
        })
        .collect()
}

/// Long runs of token-ish characters: device codes and tokens look like this; nothing
/// the CLI prints on purpose does (user codes are 9 characters, URLs have short parts).
pub fn secret_like_runs(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .filter(|w| {
            w.len() >= 24
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars().any(|c| c.is_ascii_lowercase())
                && w.chars().any(|c| c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

pub fn assert_no_secrets(outputs: &[&str], secrets: &[&str]) {
    for out in outputs {
        for s in secrets {
            assert!(
                !s.is_empty() && !out.contains(s),
                "a secret leaked into the output: {out}"
            );
        }
        let runs = secret_like_runs(out);
        assert!(
            runs.is_empty(),
            "token-like strings in the output: {runs:?}\n{out}"
        );
    }
}

pub fn write_file(path: &PathBuf, data: &[u8]) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(data)
        .unwrap();
}

/// A hostile server on 127.0.0.1: answers every request with `status` and `body`.
pub fn hostile_server(status: u16, body: Vec<u8>) -> String {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut sink = vec![0u8; len];
                let _ = reader.read_exact(&mut sink);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    format!("http://{addr}")
}
