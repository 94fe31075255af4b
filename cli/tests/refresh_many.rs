//! One refresh for many processes: 8 `deviceflow` processes that need a fresh token of one
//! profile at the same moment make exactly one refresh request between them, and all get its
//! token. `deviceflow serve` rotates refresh tokens and revokes the whole grant when a used
//! one comes back, so a double refresh would fail here; the server's audit log and metrics
//! count the refresh requests.
#![cfg(all(unix, feature = "server"))]

mod common;
mod helpers;
use common::*;
use helpers::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const N: usize = 8;
const TOKEN_OK: &str = "deviceflow_oauth_responses_total{endpoint=\"token\",outcome=\"ok\"}";

/// Makes the stored access token look expired (the refresh token stays as it is).
fn expire(home: &Home, profile: &str) {
    let mut v = home.stored(profile);
    v["secrets"]["tokens"]["expires_at"] = (unix_ms() - 1000).into();
    std::fs::write(home.profile_file(profile), v.to_string()).unwrap();
}

fn stored_tokens(home: &Home) -> (String, String) {
    let v = home.stored("default");
    let t = &v["secrets"]["tokens"];
    (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Starts all commands at once (each waits for a byte on stdin, then execs deviceflow), so
/// they race for the lock; returns (exit status, stdout, stderr) of each.
fn race(home: &Home, commands: &[Vec<&str>]) -> Vec<(i32, String, String)> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            let mut c = Command::new("sh");
            c.args(["-c", "read go; exec \"$0\" \"$@\""])
                .arg(env!("CARGO_BIN_EXE_deviceflow"))
                .args(args)
                .env("DEVICEFLOW_CONFIG_DIR", &home.0)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut children: Vec<_> = children
        .into_iter()
        .map(|mut c| {
            let stdin = c.stdin.take().unwrap();
            (c, stdin)
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    for (_, stdin) in &mut children {
        stdin.write_all(b"go\n").unwrap();
    }
    children
        .into_iter()
        .map(|(c, stdin)| {
            drop(stdin);
            let o = c.wait_with_output().unwrap();
            (
                o.status.code().unwrap_or(-1),
                text(&o.stdout),
                text(&o.stderr),
            )
        })
        .collect()
}

#[test]
fn eight_processes_one_refresh() {
    let mut server = Serve::start();
    let home = Home::new("many");
    let (code, out, err) = login(&home, &server.issuer, &["--store", "file"], &[]);
    assert_eq!(code, 0, "{out:?} {err:?}");
    let (old_access, old_refresh) = stored_tokens(&home);
    assert_eq!(server.audit_events("refresh"), 0);
    let ok_before = server.metric(TOKEN_OK);

    // Round 1: 8 processes find the token expired at once (token, the formats, git, exec).
    expire(&home, "default");
    let git_get = vec!["git-credential", "get"];
    let commands: Vec<Vec<&str>> = vec![
        vec!["token"],
        vec!["token"],
        vec!["token", "--format", "json"],
        vec!["token", "--format", "header"],
        vec!["token", "--format", "exec-credential"],
        git_get,
        vec![
            "exec",
            "--",
            "sh",
            "-c",
            "printf '%s\\n' \"$DEVICEFLOW_ACCESS_TOKEN\"",
        ],
        vec!["token"],
    ];
    assert_eq!(commands.len(), N);
    let results = race(&home, &commands);
    let (new_access, new_refresh) = stored_tokens(&home);
    assert_ne!(new_access, old_access);
    assert_ne!(
        new_refresh, old_refresh,
        "the server rotates refresh tokens"
    );
    for (i, (code, out, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "process {i} ({:?}): {err}", commands[i]);
        assert!(
            out.contains(&new_access),
            "process {i} did not get the new token: {out}"
        );
        assert!(!out.contains(&new_refresh) && !err.contains(&new_refresh));
    }
    let refreshes = server.audit_events("refresh");
    let token_ok = server.metric(TOKEN_OK) - ok_before;
    let _ = writeln!(
        std::io::stderr(),
        "{N} concurrent processes: {refreshes} refresh request(s) in the server's audit log, \
         {token_ok} successful token-endpoint response(s) in its metrics"
    );
    assert_eq!(refreshes, 1, "exactly one refresh for {N} processes");
    assert_eq!(token_ok, 1);
    assert_eq!(server.audit_events("reuse_detected"), 0);

    // Round 2: 8 `refresh` commands at once each refresh, one after the other, each with the
    // refresh token the one before it stored: rotated tokens are picked up, never replayed.
    let results = race(&home, &vec![vec!["--json", "refresh"]; N]);
    for (code, out, err) in &results {
        assert_eq!(*code, 0, "{out} {err}");
    }
    assert_eq!(server.audit_events("refresh"), 1 + N);
    assert_eq!(server.audit_events("reuse_detected"), 0);
    let mut c = cli(&home);
    c.args(["token", "--min-valid", "100000"]);
    assert!(run(c).status.success(), "the grant is still alive");
    server.stop();
}

/// The control: a refresh token used twice (two copies of one login) makes `deviceflow
/// serve` revoke the grant, so the test above would see any double refresh. The CLI's error
/// carries the server's own `error` beside the stable code.
#[test]
fn a_replayed_refresh_token_kills_the_grant() {
    let mut server = Serve::start();
    let (a, b) = (Home::new("replay-a"), Home::new("replay-b"));
    let (code, out, err) = login(&a, &server.issuer, &["--store", "file"], &[]);
    assert_eq!(code, 0, "{out:?} {err:?}");
    std::fs::create_dir_all(b.0.join("profiles")).unwrap();
    std::fs::copy(a.profile_file("default"), b.profile_file("default")).unwrap();

    let refresh = |home: &Home| {
        let mut c = cli(home);
        c.args(["--json", "refresh"]);
        let o = run(c);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.code().unwrap(), v)
    };
    assert_eq!(refresh(&a).0, 0);
    let (code, v) = refresh(&b);
    assert_eq!(code, 6, "{v}");
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"], "invalid_grant");
    assert_eq!(
        v["oauth_error"], "invalid_grant",
        "the server's own code: {v}"
    );
    assert_eq!(v["http_status"], 400, "{v}");
    assert_eq!(server.audit_events("reuse_detected"), 1);
    // The whole grant is gone: the copy that refreshed first is dead too.
    assert_eq!(refresh(&a).0, 6);
    server.stop();
}

/// The server's word on a login too: a denial's last line names the server's own code.
#[test]
fn a_denied_login_carries_the_servers_error() {
    let server = Serve::start();
    let home = Home::new("deny-oauth");
    let mut r = Running::spawn(json_login(&home, &server.issuer, "deviceflow-cli", SCOPE));
    let first: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    let code = first["user_code"].as_str().unwrap();
    deviceflow_server::approve_via_page(&server.issuer, code, "alice", false).unwrap();
    let (status, out, _) = r.finish();
    assert_eq!(status, 3);
    let last = ndjson(&out).pop().unwrap();
    assert_eq!(last["error"], "access_denied");
    assert_eq!(last["oauth_error"], "access_denied", "{last}");
    assert!(last["http_status"].is_u64(), "{last}");
    server.stop();
}
