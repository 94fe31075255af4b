//! `deviceflow` against a real authorization server (node-oidc-provider on 127.0.0.1),
//! approved or denied through the server's own HTML pages as a person would.

mod common;
use common::*;
use serde_json::Value;

const SCOPE: &str = "openid offline_access profile email";

fn login_json(home: &Home, p: &Provider, client: &str, extra: &[&str]) -> Running {
    let mut cmd = cli(home);
    cmd.args([
        "--json",
        "login",
        "--issuer",
        &p.issuer,
        "--client-id",
        client,
    ])
    .args(["--scope", SCOPE, "--no-open"])
    .args(extra);
    if !extra.contains(&"--store") {
        cmd.args(["--store", "file"]);
    }
    Running::spawn(cmd)
}

/// Reads and checks the first NDJSON line; returns the user code.
fn first_line(r: &mut Running, p: &Provider) -> String {
    let Some(line) = r.next_stdout() else {
        let err: Vec<String> = r.stderr_lines.try_iter().collect();
        panic!("no first line; stderr: {err:?}");
    };
    let first: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization");
    assert_eq!(first["verification_uri"], format!("{}/device", p.issuer));
    let code = first["user_code"].as_str().unwrap().to_owned();
    assert_eq!(
        first["verification_uri_complete"],
        format!("{}/device?user_code={code}", p.issuer)
    );
    assert_eq!(first["expires_in"].as_u64(), Some(600));
    assert_eq!(first["interval"].as_u64(), Some(1));
    code
}

#[test]
fn json_login_then_status_token_refresh_logout_with_revocation() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("lifecycle");
    let mut cmd = cli(&home);
    cmd.env("DEVICEFLOW_CLIENT_SECRET", "basic-secret");
    cmd.args([
        "--json",
        "login",
        "--issuer",
        &p.issuer,
        "--client-id",
        "basic-cli",
    ])
    .args([
        "--scope",
        SCOPE,
        "--no-open",
        "--store",
        "file",
        "--profile",
        "work",
    ]);
    let mut r = Running::spawn(cmd);
    let code = first_line(&mut r, &p);
    p.approve(&code, false);
    let (status, out, err) = r.finish();
    assert_eq!(status, 0, "stdout {out:?} stderr {err:?}");
    let lines = ndjson(&out);
    let last = lines.last().unwrap();
    assert_eq!(last["status"], "authenticated");
    assert_eq!(last["token_type"], "Bearer");
    assert_eq!(last["scope"], SCOPE);
    assert_eq!(last["expires_in"].as_u64(), Some(3600));
    assert_eq!(last["profile"], "work");
    for mid in &lines[1..lines.len() - 1] {
        assert!(
            ["pending", "slow_down"].contains(&mid["status"].as_str().unwrap()),
            "{mid}"
        );
    }

    // Stored with an absolute expiry, the client secret and both tokens; file is 0600.
    let stored = home.stored("work");
    let tokens = &stored["secrets"]["tokens"];
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let exp = tokens["expires_at"].as_u64().unwrap();
    assert!(
        exp > now_ms + 3_500_000 && exp <= now_ms + 3_600_000,
        "expires_at {exp} is not absolute"
    );
    assert_eq!(stored["profile"]["issuer"], p.issuer.as_str());
    assert_eq!(
        stored["profile"]["revocation_endpoint"],
        format!("{}/token/revocation", p.issuer)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.profile_file("work"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let all_login = format!("{}\n{}", out.join("\n"), err.join("\n"));
    assert_no_secrets(&[&all_login], &[&access, &refresh, "basic-secret"]);

    // status: who, what, when; never the token.
    let mut c = cli(&home);
    c.args(["--json", "--profile", "work", "status"]);
    let o = run(c);
    assert!(o.status.success());
    let s: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(s["status"], "logged_in");
    assert_eq!(s["account"], "alice");
    assert_eq!(s["scope"], SCOPE);
    assert_eq!(s["refreshable"], true);
    let mut c = cli(&home);
    c.args(["--profile", "work", "status"]);
    let human = run(c);
    assert!(
        text(&human.stderr).contains("expires    in 60 minutes"),
        "{}",
        text(&human.stderr)
    );
    assert_no_secrets(
        &[&text(&o.stdout), &text(&o.stderr), &text(&human.stderr)],
        &[&access, &refresh],
    );

    // token: the stored one while it is valid.
    let mut c = cli(&home);
    c.args(["--profile", "work", "token"]);
    let o = run(c);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), format!("{access}\n"));

    // token refreshes first when the token expires too soon (rotation: new refresh token).
    let mut c = cli(&home);
    c.args(["--profile", "work", "token", "--min-valid", "7200"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let access2 = text(&o.stdout).trim().to_owned();
    assert_ne!(access2, access);
    let refresh2 = home.stored("work")["secrets"]["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(refresh2, refresh, "refresh token was not rotated");

    // Parallel `token` calls that all need a refresh: the profile lock makes them take
    // turns, so no rotated-out refresh token is ever replayed (which would kill the grant).
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let mut c = cli(&home);
            c.args(["--profile", "work", "token", "--min-valid", "7200"]);
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "parallel token failed: {}",
            text(&o.stderr)
        );
    }

    // refresh: explicit, reports without secrets.
    let mut c = cli(&home);
    c.args(["--json", "--profile", "work", "refresh"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["status"], "refreshed");
    let stored = home.stored("work");
    let refresh3 = stored["secrets"]["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_secrets(
        &[&text(&o.stdout), &text(&o.stderr)],
        &[&refresh2, &refresh3],
    );

    // logout revokes at the server: a copy of the old file no longer refreshes.
    let saved = std::fs::read(home.profile_file("work")).unwrap();
    let mut c = cli(&home);
    c.args(["--json", "--profile", "work", "logout"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["status"], "logged_out");
    assert_eq!(v["revoked"], true);
    assert!(!home.profile_file("work").exists());
    write_file(&home.profile_file("work"), &saved);
    let mut c = cli(&home);
    c.args(["--json", "--profile", "work", "refresh"]);
    let o = run(c);
    assert_eq!(
        o.status.code(),
        Some(6),
        "refresh after logout must fail: {}",
        text(&o.stdout)
    );
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"], "invalid_grant");

    // Logged out: status and token say so with exit 6.
    std::fs::remove_file(home.profile_file("work")).unwrap();
    let mut c = cli(&home);
    c.args(["--profile", "work", "token"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(6));
    assert!(o.stdout.is_empty());
}

#[test]
fn human_login_shows_host_and_code_and_signed_in_as() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("human");
    let mut cmd = cli(&home);
    cmd.args(["login", "--issuer", &p.issuer, "--client-id", "public-cli"])
        .args(["--scope", SCOPE, "--store", "file"]);
    let mut r = Running::spawn(cmd);
    let host_line = r.stderr_until("(site: ");
    assert!(host_line.contains("127.0.0.1"), "{host_line}");
    let code_line = r.stderr_until("enter the code:");
    let code = code_line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(code.len(), 9, "{code_line}");
    let warn = r.stderr_until("Only enter this code at");
    assert!(warn.contains("127.0.0.1"));
    p.approve(&code, false);
    let (status, out, err) = r.finish();
    assert_eq!(status, 0, "{err:?}");
    assert!(
        out.is_empty(),
        "human mode writes nothing to stdout: {out:?}"
    );
    let all = err.join("\n");
    assert!(all.contains("Signed in as alice"), "{all}");
    assert!(
        !all.contains('\x1b'),
        "no escape codes when stderr is not a terminal"
    );
    assert!(!all.contains("Opened your browser"), "headless: no browser");
    let stored = home.stored("default");
    let access = stored["secrets"]["tokens"]["access_token"]
        .as_str()
        .unwrap();
    assert_no_secrets(&[&all], &[access]);
}

#[test]
fn denial_ends_with_access_denied_and_exit_3() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("deny");
    let mut r = login_json(&home, &p, "public-cli", &[]);
    let code = first_line(&mut r, &p);
    p.approve(&code, true);
    let (status, out, _err) = r.finish();
    assert_eq!(status, 3);
    let lines = ndjson(&out);
    let last = lines.last().unwrap();
    assert_eq!(last["status"], "error");
    assert_eq!(last["error"], "access_denied");
    assert!(last["error_description"].is_string());
    assert!(!home.profile_file("default").exists());
}

#[test]
fn expiry_ends_with_expired_token_and_exit_4() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[("DEVICE_TTL", "3")]);
    let home = Home::new("expire");
    let mut r = login_json(&home, &p, "public-cli", &[]);
    let first: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    assert_eq!(first["expires_in"].as_u64(), Some(3));
    let started = std::time::Instant::now();
    let (status, out, _) = r.finish();
    assert_eq!(status, 4);
    assert!(
        started.elapsed().as_secs() < 15,
        "took {:?}",
        started.elapsed()
    );
    let lines = ndjson(&out);
    assert_eq!(lines.last().unwrap()["error"], "expired_token");
}

#[test]
fn slow_down_is_reported_and_honoured() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[("SLOW_DOWN_FIRST", "1")]);
    let home = Home::new("slow");
    // Asking for client_secret_post without a secret is refused before any request.
    let r = login_json(&home, &p, "post-cli", &["--client-auth", "post"]);
    let (status, out, err) = r.finish();
    assert_eq!(status, 2, "{out:?} {err:?}");
    let lines = ndjson(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"], "invalid_input");
    assert!(lines[0]["error_description"]
        .as_str()
        .unwrap()
        .contains("DEVICEFLOW_CLIENT_SECRET"));

    let home = Home::new("slow2");
    let mut cmd = cli(&home);
    cmd.env("DEVICEFLOW_CLIENT_SECRET", "post-secret");
    cmd.args([
        "--json",
        "login",
        "--issuer",
        &p.issuer,
        "--client-id",
        "post-cli",
        "--client-auth",
        "post",
    ])
    .args(["--scope", SCOPE, "--no-open", "--store", "file"]);
    let mut r = Running::spawn(cmd);
    let code = first_line(&mut r, &p);
    // Wait for the slow_down line before approving.
    let line = r.next_stdout().unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["status"], "slow_down");
    assert_eq!(v["interval"].as_u64(), Some(6));
    p.approve(&code, false);
    let (status, out, _) = r.finish();
    assert_eq!(status, 0);
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");
}

#[test]
fn invalid_input_and_unreachable_server_have_their_exit_codes() {
    let home = Home::new("input");
    // No client id.
    let mut c = cli(&home);
    c.args(["--json", "login", "--issuer", "https://auth.example.com"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"], "invalid_input");
    // Plain http to a non-loopback host is refused before any request.
    let mut c = cli(&home);
    c.args([
        "--json",
        "login",
        "--issuer",
        "http://auth.example.com",
        "--client-id",
        "x",
    ]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        serde_json::from_str::<Value>(text(&o.stdout).trim()).unwrap()["error"],
        "invalid_config"
    );
    // Bad profile name.
    let mut c = cli(&home);
    c.args(["--profile", "../etc", "status"]);
    assert_eq!(run(c).status.code(), Some(2));
    // Nobody listens: network_error, exit 5.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = cli(&home);
    c.args([
        "--json",
        "login",
        "--issuer",
        &format!("http://127.0.0.1:{port}"),
        "--client-id",
        "x",
    ]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stdout));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(ndjson(&lines)[0]["error"], "network_error");
}

#[test]
fn ctrl_c_ends_with_cancelled_and_exit_130() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("cancel");
    let mut r = login_json(&home, &p, "public-cli", &["--store", "none"]);
    first_line(&mut r, &p);
    #[cfg(unix)]
    {
        // SAFETY: sending SIGINT to our own child process.
        unsafe { libc::kill(r.pid() as i32, libc::SIGINT) };
        let (status, out, _) = r.finish();
        assert_eq!(status, 130);
        let lines = ndjson(&out);
        assert_eq!(lines.last().unwrap()["error"], "cancelled");
    }
}

#[test]
fn store_none_keeps_nothing() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("none");
    let mut r = login_json(&home, &p, "public-cli", &["--store", "none"]);
    let code = first_line(&mut r, &p);
    p.approve(&code, false);
    let (status, out, _) = r.finish();
    assert_eq!(status, 0);
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");
    assert!(!home.0.exists(), "--store none wrote {:?}", home.0);
}
