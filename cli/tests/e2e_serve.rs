//! The CLI against the project's own server: `deviceflow serve` in one process,
//! `deviceflow login` in another, approval and denial through the real verification page.
#![cfg(all(unix, feature = "server"))]

mod common;
use common::*;
use serde_json::Value;

const SCOPE: &str = "openid profile email offline_access";

struct Serve(Running);

impl Serve {
    fn start() -> (Serve, String) {
        let home = std::env::temp_dir();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_deviceflow"));
        cmd.args([
            "--json",
            "serve",
            "--port",
            "0",
            "--interval",
            "1",
            "--dev-sign-in",
        ])
        .env("DEVICEFLOW_CONFIG_DIR", home)
        .stdin(std::process::Stdio::null());
        let mut r = Running::spawn(cmd);
        let line = r.next_stdout().expect("serve prints its issuer");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], "serving");
        let issuer = v["issuer"].as_str().unwrap().to_owned();
        (Serve(r), issuer)
    }

    fn stop(self) -> i32 {
        // SAFETY: SIGINT to our own child, as Ctrl-C would.
        unsafe { libc::kill(self.0.pid() as i32, libc::SIGINT) };
        self.0.finish().0
    }
}

fn login(home: &Home, issuer: &str) -> (Running, String) {
    let mut r = Running::spawn(json_login(home, issuer, "deviceflow-cli", SCOPE));
    let first: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization");
    assert_eq!(first["verification_uri"], format!("{issuer}/device"));
    let code = first["user_code"].as_str().unwrap().to_owned();
    (r, code)
}

#[test]
fn login_refresh_logout_against_deviceflow_serve() {
    let (server, issuer) = Serve::start();
    let home = Home::new("serve");
    let (r, code) = login(&home, &issuer);
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", true).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Approved);
    let (status, out, err) = r.finish();
    assert_eq!(status, 0, "{out:?} {err:?}");
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");
    let stored = home.stored("default");
    let access = stored["secrets"]["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = stored["secrets"]["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_secrets(&[&out.join("\n"), &err.join("\n")], &[&access, &refresh]);

    let mut c = cli(&home);
    c.args(["token", "--min-valid", "7200"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_ne!(text(&o.stdout).trim(), access, "token did not refresh");

    let saved = std::fs::read(home.profile_file("default")).unwrap();
    let mut c = cli(&home);
    c.args(["--json", "logout"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        serde_json::from_str::<Value>(text(&o.stdout).trim()).unwrap()["revoked"],
        true
    );
    write_file(&home.profile_file("default"), &saved);
    let mut c = cli(&home);
    c.args(["--json", "refresh"]);
    let o = run(c);
    assert_eq!(
        o.status.code(),
        Some(6),
        "revoked tokens must not refresh: {}",
        text(&o.stdout)
    );

    assert_eq!(server.stop(), 0, "serve exits 0 on Ctrl-C");
}

#[test]
fn denial_on_the_page_ends_the_login() {
    let (server, issuer) = Serve::start();
    let home = Home::new("serve-deny");
    let (r, code) = login(&home, &issuer);
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", false).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Denied);
    let (status, out, _) = r.finish();
    assert_eq!(status, 3);
    assert_eq!(ndjson(&out).last().unwrap()["error"], "access_denied");
    server.stop();
}

#[test]
fn demo_auto_approve_runs_the_whole_lifecycle() {
    let home = Home::new("demo");
    let mut c = cli(&home);
    c.args(["--json", "demo", "--auto-approve"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    let statuses: Vec<String> = ndjson(&lines)
        .iter()
        .map(|v| v["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses.first().unwrap(), "server_started");
    assert_eq!(statuses[1], "waiting_for_authorization");
    assert!(statuses.contains(&"authenticated".to_owned()));
    assert_eq!(statuses.last().unwrap(), "logged_out");
    assert!(!home.0.exists(), "the demo keeps nothing by default");
    assert_no_secrets(&[&text(&o.stdout), &text(&o.stderr)], &[]);
}
