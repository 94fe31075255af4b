//! Operating `deviceflow serve`: the audit trail as JSON lines on stderr (`--audit-log`) and
//! Prometheus metrics on their own listener (`--metrics`).
#![cfg(all(unix, feature = "server"))]

mod common;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http(url: &str, method: &str, body: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn audit_log_and_metrics() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    cmd.args([
        "--json",
        "serve",
        "--port",
        "0",
        "--dev-sign-in",
        "--audit-log",
    ])
    .args(["--metrics", "127.0.0.1:0"])
    .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
    .stdin(Stdio::null());
    let mut server = Running::spawn(cmd);
    let ready: Value = serde_json::from_str(&server.next_stdout().unwrap()).unwrap();
    let issuer = ready["issuer"].as_str().unwrap().to_owned();
    let metrics = ready["metrics"].as_str().expect("metrics URL").to_owned();

    let resp = http(
        &format!("{issuer}/device_authorization"),
        "POST",
        "client_id=deviceflow-cli",
    );
    let body: Value = serde_json::from_str(resp.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let (device_code, user_code) = (
        body["device_code"].as_str().unwrap().to_owned(),
        body["user_code"].as_str().unwrap().to_owned(),
    );
    deviceflow_server::approve_via_page(&issuer, &user_code, "alice", true).unwrap();
    let approval = server.stderr_until("\"approval\"");
    let event: Value = serde_json::from_str(&approval).unwrap();
    assert_eq!(event["target"], "deviceflow::audit");
    assert_eq!(event["subject"], "alice");
    assert_eq!(event["client_id"], "deviceflow-cli");
    assert_eq!(event["source"], "127.0.0.1");

    let scrape = http(&metrics, "GET", "");
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    assert!(scrape.contains(
        "deviceflow_oauth_responses_total{endpoint=\"device_authorization\",outcome=\"ok\"} 1"
    ));
    assert!(scrape.contains("deviceflow_code_entries_total{outcome=\"ok\"} 1"));

    // SAFETY: SIGINT to our own child, as Ctrl-C would.
    unsafe { libc::kill(server.pid() as i32, libc::SIGINT) };
    let (status, _, err) = server.finish();
    assert_eq!(status, 0);
    let all = err.join("\n");
    let issuance = err
        .iter()
        .find(|l| l.contains("\"issuance\""))
        .expect("an issuance event");
    assert!(serde_json::from_str::<Value>(issuance).is_ok());
    for secret in [&device_code, &user_code] {
        assert!(!all.contains(secret.as_str()), "a code in the audit log");
    }
}
