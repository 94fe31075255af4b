//! `deviceflow serve --config FILE` as a process: the file's clients (a confidential one whose
//! secret comes from the environment), polling and token lifetimes reach the running server,
//! flags override the file, and a bad file stops it at start with the key and line.
#![cfg(all(unix, feature = "server"))]

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &str = "tv-secret-7c1e9f";

const CONFIG: &str = r#"# a test configuration
listen = "127.0.0.1:0"
redeem_grace = "30s"

[polling]
interval = 7
device_code_ttl = "4m"

[[clients]]
id = "tv-app"
name = "Living-room TV"
type = "confidential"
secret_env = "SERVE_CONFIG_TV_SECRET"
scopes = ["profile", "offline_access"]
access_token_ttl = "15m"
refresh_token_ttl = "2d"

[sign_in]
method = "dev"
"#;

/// A scratch directory holding `deviceflow.toml` with `text`.
fn config_file(name: &str, text: &str) -> (Home, PathBuf) {
    let dir = Home::new(name);
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("deviceflow.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn serve_cmd(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    cmd.arg("--json")
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(args)
        .env("SERVE_CONFIG_TV_SECRET", SECRET)
        .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
        .stdin(Stdio::null());
    cmd
}

/// Starts `serve --config`; returns the process and its ready line.
fn serve(config: &Path, args: &[&str]) -> (Running, Value) {
    let mut r = Running::spawn(serve_cmd(config, args));
    let line = r.next_stdout().expect("serve prints its issuer");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["status"], "serving", "{line}");
    (r, v)
}

fn stop(r: Running) -> i32 {
    // SAFETY: SIGINT to our own child, as Ctrl-C would.
    unsafe { libc::kill(r.pid() as i32, libc::SIGINT) };
    r.finish().0
}

fn login(home: &Home, issuer: &str, client_id: &str, secret: Option<&str>) -> Running {
    let mut cmd = json_login(home, issuer, client_id, "profile offline_access");
    if let Some(secret) = secret {
        cmd.env("DEVICEFLOW_CLIENT_SECRET", secret);
    }
    Running::spawn(cmd)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_confidential_client_from_the_file_logs_in_with_its_secret_from_the_environment() {
    let (_dir, path) = config_file("serve-config", CONFIG);
    // --interval on the command line overrides the file's 7 s; the rest comes from the file.
    let (server, ready) = serve(&path, &["--interval", "1"]);
    let issuer = ready["issuer"].as_str().unwrap().to_owned();
    assert_eq!(ready["clients"], serde_json::json!(["tv-app"]), "{ready}");
    assert_eq!(ready["client_id"], "tv-app", "{ready}");

    let home = Home::new("serve-config-login");
    let mut r = login(&home, &issuer, "tv-app", Some(SECRET));
    let first: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization", "{first}");
    assert_eq!(first["interval"], 1, "the flag overrides the file: {first}");
    assert_eq!(
        first["expires_in"], 240,
        "the file's device_code_ttl: {first}"
    );
    let code = first["user_code"].as_str().unwrap().to_owned();
    let decision = deviceflow_server::approve_via_page(&issuer, &code, "alice", true).unwrap();
    assert_eq!(decision, deviceflow_server::Decision::Approved);
    let started = now_ms();
    let (status, out, err) = r.finish();
    assert_eq!(status, 0, "{out:?} {err:?}");
    assert_eq!(ndjson(&out).last().unwrap()["status"], "authenticated");

    // The client's own access token lifetime (15 min, not the server's 1 h) reached the token.
    let stored = home.stored("default");
    let expires_at = stored["secrets"]["tokens"]["expires_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("expires_at in {}", stored["secrets"]["tokens"]));
    let left = expires_at - started;
    assert!(
        (840_000..=905_000).contains(&left),
        "access token lifetime {left} ms, expected about 900 000"
    );
    let access = stored["secrets"]["tokens"]["access_token"]
        .as_str()
        .unwrap();
    assert_no_secrets(&[&out.join("\n"), &err.join("\n")], &[access, SECRET]);
    assert_eq!(stop(server), 0, "serve exits 0 on Ctrl-C");
}

#[test]
fn only_the_files_clients_exist_and_the_secret_is_checked() {
    let (_dir, path) = config_file("serve-config-clients", CONFIG);
    let (server, ready) = serve(&path, &["--port", "0"]);
    let issuer = ready["issuer"].as_str().unwrap().to_owned();
    let home = Home::new("serve-config-clients-login");

    // The built-in `deviceflow-cli` is not there once the file lists clients.
    let (status, out, _) = login(&home, &issuer, "deviceflow-cli", None).finish();
    assert_eq!(status, 2, "{out:?}");
    assert_eq!(ndjson(&out).last().unwrap()["error"], "invalid_client");

    // A wrong secret is refused.
    let (status, out, _) = login(&home, &issuer, "tv-app", Some("wrong")).finish();
    assert_eq!(status, 2, "{out:?}");
    assert_eq!(ndjson(&out).last().unwrap()["error"], "invalid_client");
    assert_eq!(stop(server), 0);
}

/// `serve --config` with `text`: exits 2 at start; returns (stdout, stderr).
fn refused(name: &str, text: &str, json: bool, env: &[(&str, &str)]) -> (String, String) {
    let (_dir, path) = config_file(name, text);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    if json {
        cmd.arg("--json");
    }
    cmd.args(["serve", "--config"])
        .arg(&path)
        .env_remove("SERVE_CONFIG_TV_SECRET")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text_of(&o.stderr));
    let shown = format!("{}", path.display());
    let all = format!("{}{}", text_of(&o.stdout), text_of(&o.stderr));
    assert!(all.contains(&shown), "the file is named: {all}");
    (text_of(&o.stdout), text_of(&o.stderr))
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_bad_file_stops_serve_at_start_with_the_key_and_line() {
    // An unknown key (human output on stderr).
    let (_, err) = refused(
        "serve-config-unknown",
        "listen = \"127.0.0.1:0\"\n\n[polling]\nintervall = 3\n[sign_in]\nmethod = \"dev\"\n",
        false,
        &[],
    );
    assert!(
        err.contains("deviceflow.toml:4:1: polling.intervall: unknown key `intervall`"),
        "{err}"
    );
    assert!(err.contains("(invalid_config)"), "{err}");

    // The secret's environment variable is not set (NDJSON on stdout).
    let (out, _) = refused("serve-config-env", CONFIG, true, &[]);
    let line: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["error"], "invalid_config", "{line}");
    let message = line["error_description"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "deviceflow.toml:13:14: clients[0].secret_env: environment variable SERVE_CONFIG_TV_SECRET is not set"
        ),
        "{message}"
    );

    // An http issuer on a public host.
    let (_, err) = refused(
        "serve-config-issuer",
        "listen = \"0.0.0.0:0\"\nissuer = \"http://login.example.com\"\n[sign_in]\nmethod = \"dev\"\n",
        false,
        &[],
    );
    assert!(err.contains("deviceflow.toml:2:10: issuer:"), "{err}");
    assert!(err.contains("must be https"), "{err}");

    // A file must say how people sign in.
    let (_, err) = refused(
        "serve-config-sign-in",
        "listen = \"127.0.0.1:0\"\n",
        false,
        &[],
    );
    assert!(
        err.contains("deviceflow.toml:1:1: missing [sign_in]"),
        "{err}"
    );
}

#[test]
fn without_config_serve_keeps_its_defaults() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deviceflow"));
    cmd.args(["--json", "serve", "--port", "0", "--dev-sign-in"])
        .env("DEVICEFLOW_CONFIG_DIR", std::env::temp_dir())
        .stdin(Stdio::null());
    let mut r = Running::spawn(cmd);
    let v: Value = serde_json::from_str(&r.next_stdout().unwrap()).unwrap();
    assert_eq!(v["status"], "serving");
    assert_eq!(v["client_id"], "deviceflow-cli");
    assert_eq!(v["clients"], serde_json::json!(["deviceflow-cli"]));
    assert!(
        v["listen"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{v}"
    );
    assert_eq!(stop(r), 0);
}
