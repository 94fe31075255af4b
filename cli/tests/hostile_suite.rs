//! Every case of the shared hostile-server suite (`tests/hostile/`, see its README) through
//! the real binary, all at once: `--json login` against each broken or hostile server must
//! end with the outcome the case names, within the suite's time budget, with the documented
//! exit status, clean NDJSON on stdout, no escape or BiDi character on either stream, and no
//! token or device code anywhere. Each case runs a second time without `--json`, where the
//! human text on stderr must be just as clean and name the same outcome.

mod common;
use common::*;
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the suite's servers hand out and the CLI must never print.
const SECRETS: &[&str] = &[
    "hostile-access-token-0123456789",
    "hostile-device-code-0123456789",
    // `huge_device_code`: 10 KB of `d`.
    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Json,
    Human,
}

#[derive(Clone)]
struct Case {
    name: String,
    about: String,
    expect: Vec<String>,
    /// Driven with the CLI's default timing and per-request deadline (no DEVICEFLOW_TIMING,
    /// no --http-timeout): what users get.
    defaults: bool,
    /// This case's own time budget, if it names one.
    budget: Option<Duration>,
}

/// How the suite says to drive a login.
#[derive(Clone)]
struct Run {
    base: String,
    client_id: String,
    timeout_s: String,
    timing: String,
    budget: Duration,
    /// The budget of a `defaults` case that names none: one default request deadline + slack.
    default_budget: Duration,
}

/// The exit status `cli/src/exit.rs` documents for an outcome.
fn exit_for(outcome: &str) -> i32 {
    match outcome {
        "done" => 0,
        "access_denied" => 3,
        "expired_token" => 4,
        "network_error" => 5,
        "invalid_grant" | "login_required" => 6,
        "cancelled" => 130,
        "invalid_client"
        | "invalid_scope"
        | "unauthorized_client"
        | "invalid_input"
        | "invalid_config" => 2,
        _ => 1,
    }
}

/// Same set as `isSafeText` in `tests/hostile/harness.mjs`, but newline is allowed
/// (it separates lines; server text must still never bring its own).
fn unsafe_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            let u = c as u32;
            c != '\n'
                && (u < 0x20
                    || (0x7f..=0x9f).contains(&u)
                    || matches!(u, 0xad | 0x61c | 0x180e | 0xfeff)
                    || (0x200b..=0x200f).contains(&u)
                    || (0x2028..=0x202e).contains(&u)
                    || (0x2060..=0x206f).contains(&u)
                    || (0xfff9..=0xfffb).contains(&u))
        })
        .collect()
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs `cmd`; kills it and fails when it outlives `budget`. Returns (status, stdout, stderr, took).
fn run_within(
    mut cmd: Command,
    budget: Duration,
) -> Result<(i32, Vec<u8>, Vec<u8>, Duration), String> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break s;
        }
        if started.elapsed() > budget {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
            return Err(format!(
                "did not end within {budget:?} (killed); stderr: {err:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let code = status
        .code()
        .ok_or_else(|| format!("ended by a signal: {status:?}"))?;
    Ok((code, out.join().unwrap(), err.join().unwrap(), took))
}

fn command(run: &Run, case: &Case, mode: Mode, home: &Home) -> Command {
    let word = match mode {
        Mode::Json => "cli",
        Mode::Human => "cli-human", // its own poll counters on the shared server
    };
    let base = format!("{}/{word}/{}", run.base, case.name);
    let mut c = cli(home);
    c.env_remove("DEVICEFLOW_TIMING")
        .env_remove("DEVICEFLOW_HTTP_TIMEOUT");
    if case.defaults {
        if mode == Mode::Json {
            c.arg("--json");
        }
    } else {
        c.env("DEVICEFLOW_TIMING", &run.timing);
        set_deadline(&mut c, run, mode);
    }
    c.args(["login", "--device-endpoint", &format!("{base}/device")])
        .args(["--token-endpoint", &format!("{base}/token")])
        .args([
            "--client-id",
            &run.client_id,
            "--store",
            "none",
            "--no-open",
        ]);
    c
}

fn set_deadline(c: &mut Command, run: &Run, mode: Mode) {
    match mode {
        // Both ways of setting the deadline: the flag, and the environment.
        Mode::Json => {
            c.args(["--json", "--http-timeout", &run.timeout_s]);
        }
        Mode::Human => {
            c.env("DEVICEFLOW_HTTP_TIMEOUT", &run.timeout_s);
        }
    }
}

/// Common to both modes: clean streams, no secrets, the documented exit status.
fn check_streams(out: &str, err: &str) -> Result<(), String> {
    for (name, s) in [("stdout", out), ("stderr", err)] {
        let bad = unsafe_chars(s);
        ensure!(bad.is_empty(), "raw {bad:?} on {name}: {s:?}");
        for secret in SECRETS {
            ensure!(
                !s.contains(secret),
                "{name} shows a secret ({secret:.20}...): {s:?}"
            );
        }
        let runs = secret_like_runs(s);
        ensure!(runs.is_empty(), "token-like text on {name}: {runs:?}");
    }
    Ok(())
}

fn check_json(case: &Case, status: i32, out: &str, err: &str) -> Result<String, String> {
    check_streams(out, err)?;
    ensure!(
        out.ends_with('\n'),
        "stdout does not end with a newline: {out:?}"
    );
    let mut lines = Vec::new();
    for l in out.lines() {
        let v: Value = serde_json::from_str(l).map_err(|e| format!("not JSON ({e}): {l:?}"))?;
        ensure!(
            v.is_object() && v["status"].is_string() && l.starts_with("{\"status\":"),
            "not an object with status first: {l}"
        );
        lines.push(v);
    }
    let last = lines.last().ok_or("nothing on stdout")?;
    let outcome = match last["status"].as_str() {
        Some("authenticated") => {
            ensure!(
                last["token_type"].is_string() && last["profile"] == "default",
                "incomplete authenticated line: {last}"
            );
            "done".to_owned()
        }
        Some("error") => {
            ensure!(
                last["error_description"].is_string(),
                "no error_description: {last}"
            );
            last["error"]
                .as_str()
                .ok_or(format!("no error code: {last}"))?
                .to_owned()
        }
        _ => {
            return Err(format!(
                "the last line is neither a result nor an error: {last}"
            ))
        }
    };
    ensure!(
        case.expect.contains(&outcome),
        "expected {:?}, got {outcome}: {last}",
        case.expect
    );
    ensure!(
        status == exit_for(&outcome),
        "exit status {status} for {outcome} (documented: {})",
        exit_for(&outcome)
    );
    let prompts: Vec<&Value> = lines
        .iter()
        .filter(|v| v["status"] == "waiting_for_authorization")
        .collect();
    if outcome == "done" {
        ensure!(
            prompts.len() == 1 && lines[0]["status"] == "waiting_for_authorization",
            "the code must be shown once, first: {out}"
        );
        ensure!(
            prompts[0]["user_code"] == "WDJB-MJHT",
            "user code: {}",
            prompts[0]
        );
    }
    for v in &lines[..lines.len() - 1] {
        let s = v["status"].as_str().unwrap();
        ensure!(
            ["waiting_for_authorization", "pending", "slow_down"].contains(&s),
            "unexpected line before the last: {v}"
        );
    }
    Ok(outcome)
}

fn check_human(case: &Case, status: i32, out: &str, err: &str) -> Result<String, String> {
    check_streams(out, err)?;
    ensure!(out.is_empty(), "human login wrote to stdout: {out:?}");
    let outcome = if err.lines().any(|l| l.starts_with("✓ Signed in")) {
        "done".to_owned()
    } else {
        // "✗ <sentence> (<code>)"
        let line = err
            .lines()
            .rfind(|l| l.starts_with("✗ "))
            .ok_or(format!("no result line on stderr: {err:?}"))?;
        line.rsplit_once('(')
            .and_then(|(_, code)| code.strip_suffix(')'))
            .ok_or(format!("no (code) at the end of {line:?}"))?
            .to_owned()
    };
    ensure!(
        case.expect.contains(&outcome),
        "expected {:?}, got {outcome}: {err:?}",
        case.expect
    );
    ensure!(
        status == exit_for(&outcome),
        "exit status {status} for {outcome} (documented: {})",
        exit_for(&outcome)
    );
    if outcome == "done" {
        ensure!(
            err.matches("and enter the code:  WDJB-MJHT").count() == 1,
            "the code must be shown once: {err:?}"
        );
    }
    match case.name.as_str() {
        "unsafe_message" => ensure!(
            err.lines().any(|l| l.starts_with("Server note: ")
                && l.contains("Go to")
                && l.ends_with("example and enter the code")),
            "the server message is not shown cleaned on one line: {err:?}"
        ),
        "denied_with_200" => ensure!(
            err.contains("(no thanks)"),
            "the server's description is not shown cleaned: {err:?}"
        ),
        _ => {}
    }
    Ok(outcome)
}

fn run_case(run: &Run, case: &Case, mode: Mode) -> Result<(String, Duration), String> {
    let home = Home::new(&format!(
        "hostile-{}-{}",
        if mode == Mode::Json { "json" } else { "human" },
        case.name
    ));
    let budget = case.budget.unwrap_or(if case.defaults {
        run.default_budget
    } else {
        run.budget
    });
    let (status, out, err, took) = run_within(command(run, case, mode, &home), budget)?;
    let out = String::from_utf8(out).map_err(|_| "stdout is not UTF-8".to_owned())?;
    let err = String::from_utf8(err).map_err(|_| "stderr is not UTF-8".to_owned())?;
    let outcome = match mode {
        Mode::Json => check_json(case, status, &out, &err),
        Mode::Human => check_human(case, status, &out, &err),
    }
    .map_err(|e| format!("{e}\n    stdout: {out:?}\n    stderr: {err:?}"))?;
    Ok((outcome, took))
}

#[test]
fn every_hostile_server_case_through_the_binary() {
    if !node_available() {
        return;
    }
    let suite = Hostile::start();
    let o = &suite.options;
    let run = Run {
        base: suite.base.clone(),
        client_id: o["client_id"].as_str().expect("client_id").to_owned(),
        timeout_s: format!(
            "{}",
            o["timeout_ms"].as_u64().expect("timeout_ms") as f64 / 1000.0
        ),
        timing: o["timing"].to_string(),
        budget: Duration::from_millis(o["budget_ms"].as_u64().expect("budget_ms")),
        default_budget: Duration::from_millis(
            o["default_budget_ms"].as_u64().expect("default_budget_ms"),
        ),
    };
    assert!(run.timing.starts_with('{'), "timing: {}", run.timing);
    let cases: Vec<Case> = suite
        .cases
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            about: c["about"].as_str().unwrap_or_default().to_owned(),
            expect: c["expect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect(),
            defaults: c["defaults"].as_bool().unwrap_or(false),
            budget: c["budget_ms"].as_u64().map(Duration::from_millis),
        })
        .collect();
    assert!(
        cases.len() >= 35,
        "only {} hostile cases; the suite has 41",
        cases.len()
    );
    assert!(cases.iter().all(|c| !c.expect.is_empty()));
    assert!(
        cases.iter().filter(|c| c.defaults).count() >= 3,
        "the suite's default-timing cases are missing"
    );

    let started = Instant::now();
    let handles: Vec<_> = cases
        .iter()
        .flat_map(|c| [(c.clone(), Mode::Json), (c.clone(), Mode::Human)])
        .map(|(case, mode)| {
            let run = run.clone();
            let label = format!("{} ({mode:?})", case.name);
            let h = std::thread::spawn(move || {
                run_case(&run, &case, mode).map_err(|e| format!("{}: {e}", case.about))
            });
            (label, h)
        })
        .collect();
    let mut failures = Vec::new();
    let mut slowest = (String::new(), Duration::ZERO);
    for (label, h) in handles {
        match h.join() {
            Ok(Ok((_, took))) => {
                if took > slowest.1 {
                    slowest = (label, took);
                }
            }
            Ok(Err(e)) => failures.push(format!("{label}: {e}")),
            Err(_) => failures.push(format!("{label}: the checking thread panicked")),
        }
    }
    let runs = cases.len() * 2;
    eprintln!(
        "hostile suite: {} of {runs} runs passed ({} cases, --json and human) in {:?}; slowest {} {:?}",
        runs - failures.len(),
        cases.len(),
        started.elapsed(),
        slowest.0,
        slowest.1
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} hostile runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_network_settings_are_invalid_input() {
    let home = Home::new("hostile-settings");
    let login = |c: &mut Command| {
        c.args([
            "--json",
            "login",
            "--device-endpoint",
            "http://127.0.0.1:9/d",
        ])
        .args([
            "--token-endpoint",
            "http://127.0.0.1:9/t",
            "--client-id",
            "x",
        ])
        .args(["--store", "none", "--no-open"]);
    };
    for timing in [
        r#"{"request_retry":1}"#,
        "[1]",
        "{",
        r#"{"request_retries":-1}"#,
    ] {
        let mut c = cli(&home);
        c.env("DEVICEFLOW_TIMING", timing);
        login(&mut c);
        let o = run(c);
        assert_eq!(o.status.code(), Some(2), "{timing}: {}", text(&o.stdout));
        let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
        let v = ndjson(&lines);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["error"], "invalid_input");
        assert!(v[0]["error_description"]
            .as_str()
            .unwrap()
            .contains("DEVICEFLOW_TIMING"));
    }
    for timeout in ["0", "-1", "abc", "1e9"] {
        let mut c = cli(&home);
        c.args(["--http-timeout", timeout]);
        login(&mut c);
        assert_eq!(run(c).status.code(), Some(2), "--http-timeout {timeout}");
    }
    let help = text(
        &run({
            let mut c = cli(&home);
            c.arg("--help");
            c
        })
        .stdout,
    );
    for needle in [
        "--http-timeout <SECONDS>",
        "DEVICEFLOW_HTTP_TIMEOUT",
        "DEVICEFLOW_TIMING",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn the_deadline_covers_a_body_that_trickles() {
    // One byte every 100 ms of a 100 KB body: a per-read timeout would never fire;
    // the whole-request deadline of 0.5 s must (twice: one retry), well under 5 s.
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{",
                );
                while s.write_all(b" ").is_ok() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
    });
    let home = Home::new("hostile-trickle");
    let mut c = cli(&home);
    c.env(
        "DEVICEFLOW_TIMING",
        r#"{"request_retries":1,"retry_base_ms":100}"#,
    )
    .args(["--json", "--http-timeout", "0.5", "login"])
    .args(["--device-endpoint", &format!("http://{addr}/d")])
    .args(["--token-endpoint", &format!("http://{addr}/t")])
    .args(["--client-id", "x", "--store", "none", "--no-open"]);
    let (status, out, _, took) = run_within(c, Duration::from_secs(10)).unwrap();
    assert_eq!(status, 5, "{}", text(&out));
    assert!(text(&out).contains("(last: timeout)"), "{}", text(&out));
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_is_not_held_up_by_a_server_that_never_answers() {
    // Accepts connections and never answers: only the default 30 s deadline would end
    // the request, but Ctrl-C must end the login at once, as `cancelled` (exit 130).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (connected, first_connection) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
            let _ = connected.send(());
        }
    });
    let home = Home::new("hostile-ctrl-c");
    let mut c = cli(&home);
    c.args(["--json", "login"])
        .args(["--device-endpoint", &format!("http://{addr}/d")])
        .args(["--token-endpoint", &format!("http://{addr}/t")])
        .args(["--client-id", "x", "--store", "none", "--no-open"]);
    let r = Running::spawn(c);
    // The request is in flight (so the handler is installed); give it a moment more.
    first_connection
        .recv_timeout(Duration::from_secs(20))
        .expect("the CLI never connected");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    // SAFETY: SIGINT to our own child, as Ctrl-C would.
    unsafe { libc::kill(r.pid() as i32, libc::SIGINT) };
    let (status, out, _) = r.finish();
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "took {:?} after Ctrl-C",
        sent.elapsed()
    );
    assert_eq!(status, 130, "{out:?}");
    let lines = ndjson(&out);
    assert_eq!(lines.len(), 1, "{out:?}");
    assert_eq!(lines[0]["error"], "cancelled");
}
