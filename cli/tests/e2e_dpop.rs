//! `deviceflow login --dpop` against node-oidc-provider with the client `dpop-cli`
//! (`dpop_bound_access_tokens`) and server nonces required (`DPOP_NONCE=1`): the key is
//! kept with the tokens, `token --format header --method GET --url <issuer>/me` makes
//! headers the provider's userinfo accepts (a real HTTP request), refresh uses the stored
//! key (another key is refused), `exec` and `git-credential` refuse, logout revokes.

mod common;
use common::*;
use serde_json::Value;

const SCOPE: &str = "openid offline_access";

struct Answer {
    status: u16,
    nonce: Option<String>,
    www_authenticate: String,
    body: String,
}

/// A GET with the given header lines (`Name: value`), as curl -H would send them.
fn get(url: &str, header_lines: &str) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let mut req = agent.get(url);
    for line in header_lines.lines() {
        let (name, value) = line.split_once(": ").expect("a `Name: value` line");
        req = req.header(name, value);
    }
    let mut resp = req.call().expect("userinfo answers");
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let nonce = header("dpop-nonce");
    let www_authenticate = header("www-authenticate").unwrap_or_default();
    Answer {
        status: resp.status().as_u16(),
        nonce,
        www_authenticate,
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn token_header(home: &Home, url: &str, nonce: Option<&str>) -> std::process::Output {
    let mut c = cli(home);
    c.args(["--profile", "d", "token", "--format", "header"])
        .args(["--method", "GET", "--url", url]);
    if let Some(n) = nonce {
        c.args(["--nonce", n]);
    }
    run(c)
}

/// `token --format header` for GET `url`, then the request; once more with the server's
/// nonce when it answers `use_dpop_nonce` (as a script would). Returns the last answer.
fn userinfo_with_cli_headers(home: &Home, url: &str) -> (Answer, usize) {
    let mut nonce: Option<String> = None;
    for attempt in 1..=2 {
        let o = token_header(home, url, nonce.as_deref());
        assert!(o.status.success(), "{}", text(&o.stderr));
        let lines = text(&o.stdout);
        let names: Vec<&str> = lines
            .lines()
            .map(|l| l.split_once(": ").unwrap().0)
            .collect();
        assert_eq!(names, ["Authorization", "DPoP"], "{lines}");
        assert!(lines.starts_with("Authorization: DPoP "), "{lines}");
        let a = get(url, &lines);
        let retry = a.status == 401 && a.www_authenticate.contains("use_dpop_nonce");
        if !retry || attempt == 2 {
            return (a, attempt);
        }
        nonce = Some(
            a.nonce
                .clone()
                .expect("a use_dpop_nonce answer carries DPoP-Nonce"),
        );
    }
    unreachable!()
}

#[test]
fn dpop_login_token_header_userinfo_refresh_logout() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[("DPOP_NONCE", "1")]);
    let home = Home::new("dpop");
    let mut cmd = json_login(&home, &p.issuer, "dpop-cli", SCOPE);
    cmd.args(["--dpop", "--profile", "d"]);
    let mut r = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&r.next_stdout().expect("first line")).unwrap();
    assert_eq!(first["status"], "waiting_for_authorization", "{first}");
    p.approve(first["user_code"].as_str().unwrap(), false);
    let (status, out, err) = r.finish();
    assert_eq!(status, 0, "stdout {out:?} stderr {err:?}");
    let last = ndjson(&out).pop().unwrap();
    assert_eq!(last["status"], "authenticated");
    assert_eq!(last["token_type"], "DPoP");

    // The key is kept with the tokens (the 0600 file here), as base64url of 32 bytes.
    let stored = home.stored("d");
    let secrets = &stored["secrets"];
    assert_eq!(secrets["tokens"]["token_type"], "DPoP");
    let key = secrets["dpop_key"]
        .as_str()
        .expect("dpop_key stored")
        .to_owned();
    assert_eq!(key.len(), 43, "base64url of 32 bytes");
    let access = secrets["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = secrets["tokens"]["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token")
        .to_owned();
    let login_output = format!("{}\n{}", out.join("\n"), err.join("\n"));
    assert_no_secrets(&[&login_output], &[&access, &refresh, &key]);

    let mut c = cli(&home);
    c.args(["--json", "--profile", "d", "status"]);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(s["token_type"], "DPoP");
    assert_eq!(s["dpop_jkt"].as_str().map(str::len), Some(43), "{s}");
    // (The thumbprint is public; the key itself is never shown.)
    assert!(!text(&o.stdout).contains(&key));

    // A DPoP profile needs the request a proof is for.
    let mut c = cli(&home);
    c.args(["--profile", "d", "token", "--format", "header"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--method and --url"),
        "{}",
        text(&o.stderr)
    );

    // The CLI's headers work at userinfo (with the server's nonce after one use_dpop_nonce).
    let me = format!("{}/me", p.issuer);
    let (a, attempts) = userinfo_with_cli_headers(&home, &me);
    assert_eq!(
        a.status, 200,
        "after {attempts} attempt(s): {} {}",
        a.www_authenticate, a.body
    );
    let claims: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(claims["sub"], "alice");
    // The same token as a bearer token, or without a proof, is refused.
    let refused = |s: u16| s == 400 || s == 401;
    assert!(refused(
        get(&me, &format!("Authorization: Bearer {access}")).status
    ));
    assert!(refused(
        get(&me, &format!("Authorization: DPoP {access}")).status
    ));

    // Programs that would send it as a bearer token or password are refused.
    let mut c = cli(&home);
    c.args(["--profile", "d", "exec", "--", "true"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("DPoP"), "{}", text(&o.stderr));
    let mut c = cli(&home);
    c.args(["--profile", "d", "git-credential", "get"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let mut c = cli(&home);
    c.args(["--profile", "d", "token", "--format", "exec-credential"]);
    assert_eq!(run(c).status.code(), Some(2));

    // Refresh with another key is refused (the refresh token is bound to the stored key).
    let saved = std::fs::read(home.profile_file("d")).unwrap();
    let mut other = stored.clone();
    other["secrets"]["dpop_key"] = Value::from("AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM");
    write_file(&home.profile_file("d"), other.to_string().as_bytes());
    let mut c = cli(&home);
    c.args(["--json", "--profile", "d", "refresh"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stdout));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v}");

    // With the stored key it works, and the new token works at userinfo too.
    write_file(&home.profile_file("d"), &saved);
    let mut c = cli(&home);
    c.args(["--json", "--profile", "d", "refresh"]);
    let o = run(c);
    assert!(
        o.status.success(),
        "{} {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["status"], "refreshed");
    assert_eq!(v["token_type"], "DPoP");
    let stored2 = home.stored("d");
    assert_eq!(
        stored2["secrets"]["dpop_key"],
        key.as_str(),
        "the key stays"
    );
    assert_ne!(
        stored2["secrets"]["tokens"]["access_token"],
        access.as_str()
    );
    let (a, _) = userinfo_with_cli_headers(&home, &me);
    assert_eq!(a.status, 200, "{} {}", a.www_authenticate, a.body);

    // logout revokes (with the key): a copy of the file no longer refreshes.
    let saved = std::fs::read(home.profile_file("d")).unwrap();
    let mut c = cli(&home);
    c.args(["--json", "--profile", "d", "logout"]);
    let o = run(c);
    assert!(
        o.status.success(),
        "{} {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["revoked"], true, "{v}");
    write_file(&home.profile_file("d"), &saved);
    let mut c = cli(&home);
    c.args(["--json", "--profile", "d", "refresh"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stdout));
}

#[test]
fn bearer_profiles_ignore_the_request_and_dpop_clients_need_dpop() {
    if !node_ready() {
        return;
    }
    let p = Provider::start(&[]);
    let home = Home::new("dpop-bearer");
    // Without --dpop the dpop-cli client is refused (it must prove possession).
    let mut cmd = json_login(&home, &p.issuer, "dpop-cli", SCOPE);
    cmd.args(["--profile", "d"]);
    let mut r = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&r.next_stdout().expect("first line")).unwrap();
    p.approve(first["user_code"].as_str().unwrap(), false);
    let (status, out, _) = r.finish();
    assert_ne!(status, 0, "{out:?}");
    assert!(!home.profile_file("d").exists());

    // A bearer login: `--method/--url` change nothing, the one Bearer header is printed.
    let mut cmd = json_login(&home, &p.issuer, "public-cli", SCOPE);
    cmd.args(["--profile", "d"]);
    let mut r = Running::spawn(cmd);
    let first: Value = serde_json::from_str(&r.next_stdout().expect("first line")).unwrap();
    p.approve(first["user_code"].as_str().unwrap(), false);
    let (status, _, err) = r.finish();
    assert_eq!(status, 0, "{err:?}");
    assert!(home.stored("d")["secrets"].get("dpop_key").is_none());
    let me = format!("{}/me", p.issuer);
    let o = token_header(&home, &me, None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines = text(&o.stdout);
    assert!(lines.starts_with("Authorization: Bearer ") && lines.lines().count() == 1);
    assert_eq!(get(&me, &lines).status, 200);
}
