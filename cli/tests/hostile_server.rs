//! A hostile or broken server must not crash, hang or mislead the CLI, nor reach the
//! terminal with escape sequences.

mod common;
use common::*;

fn login(home: &Home, base: &str, json: bool) -> std::process::Output {
    let mut c = cli(home);
    if json {
        c.arg("--json");
    }
    c.args(["login", "--device-endpoint", &format!("{base}/device")])
        .args([
            "--token-endpoint",
            &format!("{base}/token"),
            "--client-id",
            "x",
            "--no-open",
        ]);
    run(c)
}

#[test]
fn escape_sequences_in_server_errors_never_reach_the_terminal() {
    let body = serde_json::json!({
        "error": "access_denied",
        "error_description": "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31mred\u{202e}txt.exe\r\nFAKE: Signed in as admin"
    })
    .to_string();
    let base = hostile_server(400, body.into_bytes());
    let home = Home::new("hostile-esc");
    let human = login(&home, &base, false);
    assert_eq!(human.status.code(), Some(3));
    let err = text(&human.stderr);
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
        assert!(!err.contains(bad), "{bad:?} reached stderr: {err:?}");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("FAKE")).count(),
        0,
        "a server line break got through"
    );
    let json = login(&home, &base, true);
    assert_eq!(json.status.code(), Some(3));
    let out = text(&json.stdout);
    assert_eq!(out.lines().count(), 1, "one NDJSON line: {out:?}");
    assert!(!out.contains('\u{1b}'));
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(ndjson(&lines)[0]["error"], "access_denied");
}

#[test]
fn oversized_and_malformed_answers_fail_cleanly() {
    let home = Home::new("hostile-big");
    let base = hostile_server(200, vec![b'{'; 2 * 1024 * 1024]);
    let o = login(&home, &base, true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(ndjson(&lines)[0]["error"], "invalid_response");

    let base = hostile_server(200, b"<html>not json</html>".to_vec());
    let o = login(&home, &base, true);
    assert_eq!(o.status.code(), Some(1));

    // A user code with terminal escapes is refused, not shown.
    let body = serde_json::json!({
        "device_code": "d", "user_code": "AB\u{1b}[2JCD", "verification_uri": format!("{base}/device"),
        "expires_in": 60
    });
    let base = hostile_server(200, body.to_string().into_bytes());
    let o = login(&home, &base, false);
    assert_eq!(o.status.code(), Some(1));
    assert!(!text(&o.stderr).contains('\u{1b}'));
}
