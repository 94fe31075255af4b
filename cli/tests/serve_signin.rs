//! `deviceflow serve`'s sign-in flags: one is required, the dev sign-in warns, the header
//! sign-in needs trusted proxies, the upstream secret comes from the environment and is never
//! printed. (The sign-ins themselves: `server/tests/signin/` and
//! `tests/e2e/server-upstream.test.mjs`.)
#![cfg(all(unix, feature = "server"))]

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

fn serve(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    cmd.args(["serve", "--port", "0"])
        .args(args)
        .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
        .env_remove("DEVICEFLOW_UPSTREAM_CLIENT_SECRET")
        .stdin(Stdio::null());
    cmd
}

/// Starts `serve --json ARGS`; the process and its first stdout line.
fn serving(mut cmd: Command) -> (Running, Value) {
    cmd.arg("--json");
    let mut r = Running::spawn(cmd);
    let line = r.next_stdout().expect("serve prints its status");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["status"], "serving", "{line}");
    (r, v)
}

fn stop(r: Running) -> (i32, Vec<String>, Vec<String>) {
    // SAFETY: SIGINT to our own child, as Ctrl-C would.
    unsafe { libc::kill(r.pid() as i32, libc::SIGINT) };
    r.finish()
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    ureq::Agent::new_with_config(config)
}

#[test]
fn without_a_sign_in_serve_refuses_to_start_and_names_the_three_ways() {
    let out = run(serve(&[]));
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    for option in ["--upstream-issuer", "--user-header", "--dev-sign-in"] {
        assert!(err.contains(option), "{option} missing from: {err}");
    }
}

#[test]
fn the_dev_sign_in_warns_when_serving() {
    let (mut r, _) = serving(serve(&["--dev-sign-in"]));
    let line = r.stderr_until("warning: dev sign-in");
    assert!(line.contains("believes any name"), "{line}");
    let (code, _, _) = stop(r);
    assert_eq!(code, 0);
}

#[test]
fn the_sign_in_flags_exclude_each_other() {
    let out = run(serve(&[
        "--dev-sign-in",
        "--user-header",
        "X-User",
        "--trust-proxy",
        "127.0.0.1",
    ]));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
    let out = run(serve(&["--upstream-issuer", "https://op.example"]));
    assert_ne!(out.status.code(), Some(0), "the client id is required");
}

#[test]
fn the_header_sign_in_needs_trusted_proxies_and_believes_only_them() {
    let out = run(serve(&["--user-header", "X-Auth-Request-User"]));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("needs --trust-proxy"),
        "{}",
        text(&out.stderr)
    );

    let (r, v) = serving(serve(&[
        "--user-header",
        "X-Auth-Request-User",
        "--trust-proxy",
        "127.0.0.1/32",
    ]));
    let issuer = v["issuer"].as_str().unwrap();
    let mut page = agent()
        .get(&format!("{issuer}/device"))
        .header("X-Auth-Request-User", "alice")
        .call()
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("Signed in as <strong>alice</strong>"));
    let nobody = agent().get(&format!("{issuer}/device")).call().unwrap();
    assert_eq!(nobody.status(), 403);
    let (_, _, err) = stop(r);
    assert!(
        !err.iter().any(|l| l.contains("warning: dev sign-in")),
        "{err:?}"
    );
}

#[test]
fn the_upstream_secret_comes_from_the_environment_and_is_never_printed() {
    const SECRET: &str = "upstream-s3cret-never-shown";
    let mut cmd = serve(&[
        "--upstream-issuer",
        "http://127.0.0.1:9",
        "--upstream-client-id",
        "front",
    ]);
    cmd.env("DEVICEFLOW_UPSTREAM_CLIENT_SECRET", SECRET);
    // Human output first: it names the redirect URI to register.
    let mut human = Running::spawn(cmd);
    let line = human.stderr_until("sign-in ");
    assert!(
        line.contains("upstream http://127.0.0.1:9 as client front"),
        "{line}"
    );
    assert!(line.contains("/device/callback"), "{line}");
    let (_, out, err) = stop(human);
    assert_no_secrets(&[&out.join("\n"), &err.join("\n")], &[SECRET]);

    let mut cmd = serve(&[
        "--upstream-issuer",
        "http://127.0.0.1:9",
        "--upstream-client-id",
        "front",
    ]);
    cmd.env("DEVICEFLOW_UPSTREAM_CLIENT_SECRET", SECRET);
    let (r, v) = serving(cmd);
    let issuer = v["issuer"].as_str().unwrap();
    // Nobody signed in: the page starts the upstream sign-in.
    let r1 = agent().get(&format!("{issuer}/device")).call().unwrap();
    assert_eq!(r1.status(), 303);
    assert_eq!(r1.headers().get("location").unwrap(), "/device/signin");
    let (_, out, err) = stop(r);
    assert_no_secrets(&[&out.join("\n"), &err.join("\n")], &[SECRET]);
}
