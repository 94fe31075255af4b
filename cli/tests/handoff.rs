//! Tokens for other tools, each checked by its real consumer where one runs here:
//! `token --format` (a shell evaluates `env`, the `header` line is sent by curl-style raw HTTP),
//! `git-credential` driven by real git against a server that checks the token, `exec`, and
//! the Kubernetes ExecCredential against a JSON schema and, when present, real kubectl.
#![cfg(unix)]

mod common;
mod helpers;
use common::*;
use helpers::*;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;

const TOKEN: &str = "tok.A1-b2_C3";

fn far() -> Option<u64> {
    Some(unix_ms() + 3 * 3600 * 1000)
}

fn token_out(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = cli(home);
    c.arg("token").args(args);
    let o = run(c);
    (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
}

#[test]
fn token_formats_through_the_binary() {
    let home = Home::new("formats");
    let exp = far().unwrap();
    write_profile(&home, "default", TOKEN, Some(exp));
    assert_eq!(token_out(&home, &[]).1, format!("{TOKEN}\n"));
    assert_eq!(
        token_out(&home, &["--format", "raw"]).1,
        format!("{TOKEN}\n")
    );
    let (code, out, _) = token_out(&home, &["--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["access_token"], TOKEN);
    assert_eq!(v["token_type"], "Bearer");
    let left = v["expires_in"].as_i64().unwrap();
    assert!((3 * 3600 - 5..=3 * 3600).contains(&left), "{v}");
    assert_eq!(v["expires_at"].as_u64().unwrap(), exp / 1000);
    // `--json` alone means the json format.
    let mut c = cli(&home);
    c.args(["--json", "token"]);
    let jv: Value = serde_json::from_slice(&run(c).stdout).unwrap();
    assert_eq!(jv["access_token"], TOKEN);

    assert_eq!(
        token_out(&home, &["--format", "header"]).1,
        format!("Authorization: Bearer {TOKEN}\n")
    );

    // A shell takes the env lines as they are printed.
    let script = format!(
        "eval \"$('{}' token --format env --env MY_TOKEN)\" && printf '%s|%s' \"$MY_TOKEN\" \"$DEVICEFLOW_TOKEN_EXPIRES_AT\"",
        env!("CARGO_BIN_EXE_deviceflow")
    );
    let o = Command::new("sh")
        .args(["-c", &script])
        .env("DEVICEFLOW_CONFIG_DIR", &home.0)
        .output()
        .unwrap();
    assert_eq!(
        text(&o.stdout),
        format!("{TOKEN}|{}", exp / 1000),
        "{}",
        text(&o.stderr)
    );

    let (code, _, err) = token_out(&home, &["--format", "env", "--env", "1BAD"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = token_out(&home, &["--format", "yaml"]);
    assert_eq!(code, 2);
}

#[test]
fn an_expired_token_without_refresh_token_is_login_required_in_every_format() {
    let home = Home::new("formats-expired");
    write_profile(&home, "default", TOKEN, Some(unix_ms() - 1000));
    for f in ["raw", "header", "env", "exec-credential"] {
        let mut c = cli(&home);
        c.args(["--json", "token", "--format", f]);
        let o = run(c);
        assert_eq!(o.status.code(), Some(6), "{f}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["error"], "login_required", "{f}");
        assert!(!text(&o.stdout).contains(TOKEN) && !text(&o.stderr).contains(TOKEN));
    }
}

#[test]
fn exec_runs_the_command_with_the_token() {
    let home = Home::new("exec");
    write_profile(&home, "work", TOKEN, far());
    let mut c = cli(&home);
    c.args(["exec", "--profile", "work", "--env", "GH_TOKEN", "--"])
        .args(["sh", "-c", "printf '%s' \"$GH_TOKEN\"; exit 7"]);
    let o = run(c);
    assert_eq!(text(&o.stdout), TOKEN);
    assert_eq!(
        o.status.code(),
        Some(7),
        "the command's exit status is passed on"
    );

    let mut c = cli(&home);
    c.args([
        "--profile",
        "work",
        "exec",
        "--",
        "sh",
        "-c",
        "printf '%s' \"$DEVICEFLOW_ACCESS_TOKEN\"",
    ]);
    assert_eq!(text(&run(c).stdout), TOKEN, "default variable");

    let mut c = cli(&home);
    c.args(["--profile", "work", "exec", "--", "/nonexistent/cmd"]);
    assert_eq!(run(c).status.code(), Some(127));

    // Not logged in: the command never runs.
    let marker = home.0.join("ran");
    let mut c = cli(&home);
    c.args(["--profile", "nobody", "exec", "--", "touch"])
        .arg(&marker);
    assert_eq!(run(c).status.code(), Some(6));
    assert!(!marker.exists());
}

/// A git smart-HTTP server for one empty-ish repository: `info/refs` lists one branch when the
/// request carries `Basic base64(user:TOKEN)`, else 401 asking for Basic credentials.
fn git_server(expected_password: &'static str) -> CheckingServer {
    use base64::Engine;
    CheckingServer::start(Arc::new(move |_path: &str, auth: Option<&str>| {
        let ok = auth
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|up| {
                up.split_once(':')
                    .is_some_and(|(_, p)| p == expected_password)
            });
        if !ok {
            return Reply {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), "Basic realm=\"test\"".into())],
                body: vec![],
            };
        }
        let pkt = |s: &str| format!("{:04x}{s}", s.len() + 4);
        let sha = "1111111111111111111111111111111111111111";
        let body = format!(
            "{}0000{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{sha} refs/heads/main\0agent=deviceflow-test\n"))
        );
        Reply {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/x-git-upload-pack-advertisement".into(),
            )],
            body: body.into_bytes(),
        }
    }))
}

/// Debian's git (`/usr/bin/git`) and the one on PATH, when they differ.
fn gits() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for g in ["/usr/bin/git", "git"] {
        let Ok(o) = Command::new(g).arg("--version").output() else {
            continue;
        };
        let version = text(&o.stdout);
        if o.status.success() && !v.iter().any(|x| x.ends_with(&version)) {
            v.push(format!("{g}\t{version}"));
        }
    }
    v.into_iter()
        .map(|s| s.split('\t').next().unwrap().to_owned())
        .collect()
}

fn git_ls_remote(git: &str, home: &Home, url: &str, profile: &str) -> std::process::Output {
    let helper = format!(
        "!'{}' git-credential --profile {profile}",
        env!("CARGO_BIN_EXE_deviceflow")
    );
    Command::new(git)
        .args(["-c", &format!("credential.{url}.helper={helper}")])
        .args(["ls-remote", &format!("{url}/repo.git")])
        .env("DEVICEFLOW_CONFIG_DIR", &home.0)
        .env("HOME", &home.0)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .output()
        .unwrap()
}

#[test]
fn git_sends_the_token_from_the_credential_helper() {
    let gits = gits();
    if gits.is_empty() {
        return skip("git is not installed");
    }
    let home = Home::new("git");
    write_profile(&home, "work", TOKEN, far());
    write_profile(&home, "stale", "not-the-token", far());
    let server = git_server(TOKEN);
    for git in &gits {
        let o = git_ls_remote(git, &home, &server.url, "work");
        assert!(o.status.success(), "{git}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("1111111111111111111111111111111111111111\trefs/heads/main"),
            "{git}: {}",
            text(&o.stdout)
        );
        // git asked without credentials, got 401, asked the helper, sent Basic oauth2:TOKEN.
        use base64::Engine;
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{TOKEN}"))
        );
        assert!(
            server.authorizations().contains(&Some(want)),
            "{git}: {:?}",
            server.authorizations()
        );

        // A token the server does not accept, and a profile that is not logged in: git fails.
        for profile in ["stale", "nobody"] {
            let o = git_ls_remote(git, &home, &server.url, profile);
            assert!(!o.status.success(), "{git} {profile}");
            assert!(!text(&o.stderr).contains(TOKEN));
        }
    }
}

#[test]
fn git_credential_protocol_directly() {
    let home = Home::new("git-proto");
    write_profile(&home, "default", TOKEN, Some(2_000_000_000_000));
    let talk = |op: &str, input: &str| {
        use std::io::Write;
        let mut c = cli(&home);
        c.args(["git-credential", op])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        (o.status.code().unwrap(), text(&o.stdout))
    };
    assert_eq!(
        talk("get", "protocol=https\nhost=git.example.com\n\n"),
        (
            0,
            format!("username=oauth2\npassword={TOKEN}\npassword_expiry_utc=2000000000\n")
        )
    );
    assert_eq!(
        talk("get", "protocol=https\nhost=h\nusername=alice\n\n")
            .1
            .lines()
            .next(),
        Some("username=alice")
    );
    // store and erase leave the login alone; unknown operations are ignored.
    for op in ["store", "erase", "frobnicate"] {
        assert_eq!(
            talk(op, &format!("host=h\nusername=u\npassword={TOKEN}\n\n")),
            (0, String::new())
        );
    }
    assert_eq!(
        talk("get", "host=h\n\n").0,
        0,
        "still logged in after erase"
    );
}

const SCHEMA: &str = include_str!("fixtures/exec-credential.schema.json");

/// A python3 with the `jsonschema` module (Debian: python3-jsonschema).
fn python_with_jsonschema() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import jsonschema"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn schema_errors(python: &str, instance: &Value) -> String {
    let o = Command::new(python)
        .args([
            "-c",
            "import json,sys,jsonschema\n\
             s=json.loads(sys.argv[1]); i=json.loads(sys.argv[2])\n\
             v=jsonschema.Draft7Validator(s)\n\
             print('\\n'.join(e.message for e in v.iter_errors(i)))",
            SCHEMA,
            &instance.to_string(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout).trim().to_owned()
}

#[test]
fn exec_credential_fits_the_schema() {
    let home = Home::new("execcred");
    write_profile(&home, "default", TOKEN, Some(1_800_000_000_000));
    let (code, out, _) = token_out(&home, &["--format", "exec-credential"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"]["token"], TOKEN);
    assert_eq!(v["status"]["expirationTimestamp"], "2027-01-15T08:00:00Z");
    let Some(python) = python_with_jsonschema() else {
        return skip("python3 with the jsonschema module (apt-get install python3-jsonschema)");
    };
    assert_eq!(schema_errors(python, &v), "", "{v}");
    // The check can fail: a wrong kind, a local-time stamp, a stray field.
    for broken in [
        json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "Credential", "status": {"token": "t"}}),
        json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": "t", "expirationTimestamp": "2027-01-15 08:00:00"}}),
        json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": "t", "expiry": 1}}),
    ] {
        assert_ne!(schema_errors(python, &broken), "", "{broken}");
    }
}

/// kubectl's client minor version, when kubectl runs here.
fn kubectl_minor() -> Option<u32> {
    let o = Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&o.stdout).ok()?;
    v["clientVersion"]["minor"]
        .as_str()?
        .trim_end_matches('+')
        .parse()
        .ok()
}

/// A stand-in Kubernetes API over HTTPS (kubectl sends no credentials over plain http): a
/// python3 server with a throwaway self-signed certificate that answers `/api/hello` only with
/// `Authorization: Bearer TOKEN`, logging every Authorization header it got. (URL, child).
fn https_api(dir: &std::path::Path) -> Option<(String, KillOnDrop)> {
    let (cert, key) = (dir.join("api.crt"), dir.join("api.key"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    if !made.status.success() {
        return None;
    }
    let script = format!(
        r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        auth = self.headers.get("Authorization")
        print("AUTH", auth, flush=True)
        ok = auth == "Bearer {TOKEN}"
        body = b"hello-from-the-api" if ok else b"Unauthorized"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print("PORT", s.server_address[1], flush=True)
s.serve_forever()
"#
    );
    let log = std::fs::File::create(dir.join("api.log")).ok()?;
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .arg(&cert)
        .arg(&key)
        .stdout(log)
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        let out = std::fs::read_to_string(dir.join("api.log")).unwrap_or_default();
        if let Some(port) = out.lines().find_map(|l| l.strip_prefix("PORT ")) {
            return Some((format!("https://127.0.0.1:{port}"), KillOnDrop(child)));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}

/// A helper process that never outlives its test, even a failing one.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kubectl_uses_the_exec_credential() {
    let Some(minor) = kubectl_minor() else {
        return skip("kubectl is not installed (apt-get install kubernetes-client); the schema test still ran");
    };
    let home = Home::new("kubectl");
    write_profile(&home, "k8s", TOKEN, far());
    let Some((url, _api)) = https_api(&home.0) else {
        return skip("the kubectl test needs python3 and openssl for its HTTPS API stand-in");
    };
    // v1 from kubectl 1.22 on (which also still speaks v1beta1); older ones only v1beta1. The
    // plugin answers in the version kubectl asks for in KUBERNETES_EXEC_INFO.
    let mut versions = vec!["client.authentication.k8s.io/v1beta1"];
    if minor >= 22 {
        versions.insert(0, "client.authentication.k8s.io/v1");
    }
    let kubectl = |api_version: &str, profile_dir: &std::path::Path| {
        let mut exec = json!({
            "apiVersion": api_version,
            "command": env!("CARGO_BIN_EXE_deviceflow"),
            "args": ["token", "--format", "exec-credential", "--profile", "k8s"],
            "env": [{"name": "DEVICEFLOW_CONFIG_DIR", "value": profile_dir.to_str().unwrap()}],
        });
        if api_version.ends_with("/v1") {
            exec["interactiveMode"] = json!("Never");
        }
        let config = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "t",
            "clusters": [{"name": "c", "cluster": {"server": url, "insecure-skip-tls-verify": true}}],
            "users": [{"name": "u", "user": {"exec": exec}}],
            "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
        });
        let path = home.0.join("kubeconfig");
        std::fs::write(&path, config.to_string()).unwrap();
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&path)
            .args(["get", "--raw", "/api/hello"])
            .env("HOME", &home.0)
            .output()
            .unwrap()
    };
    for v in versions {
        let _ = std::fs::write(home.0.join("api.log"), "");
        let o = kubectl(v, &home.0);
        let log = std::fs::read_to_string(home.0.join("api.log")).unwrap();
        assert!(
            o.status.success(),
            "kubectl 1.{minor} {v}: {}\n{log}",
            text(&o.stderr)
        );
        assert_eq!(text(&o.stdout).trim(), "hello-from-the-api");
        assert!(log.contains(&format!("AUTH Bearer {TOKEN}")), "{v}: {log}");
        // Not logged in there: kubectl fails with the plugin's error, and sends no token.
        let o = kubectl(v, &home.0.join("empty"));
        assert!(!o.status.success());
        assert!(
            text(&o.stderr).contains("not logged in"),
            "{}",
            text(&o.stderr)
        );
    }
}
