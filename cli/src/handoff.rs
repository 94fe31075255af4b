//! Handing the access token to other programs: `token --format` (raw, json, header, env,
//! Kubernetes ExecCredential), `git-credential` (git's credential-helper protocol) and
//! `exec` (a command with the token in its environment). Each gets a token that is valid for
//! at least `--min-valid` seconds, refreshed under the profile lock when needed
//! ([`crate::lifecycle::fresh_tokens`]).

use crate::exit::CliError;
use crate::lifecycle::{fresh_login, fresh_tokens};
use crate::ndjson;
use deviceflow::{SoftwareKey, Timestamp, TokenSet};
use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// What `deviceflow token` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The access token alone (default).
    Raw,
    /// `{"access_token","token_type","expires_in","expires_at"}` (as `--json`).
    Json,
    /// `Authorization: Bearer <token>`, for `curl -H @-` and the like.
    Header,
    /// Shell `export` lines (quoted), for `eval "$(deviceflow token --format env)"`.
    Env,
    /// A Kubernetes `client.authentication.k8s.io/v1` ExecCredential, for a kubeconfig
    /// `exec` entry.
    ExecCredential,
}

/// The variable `--format env` and `exec` set by default.
pub const DEFAULT_ENV: &str = "DEVICEFLOW_ACCESS_TOKEN";
/// `--format env` also exports the expiry (Unix seconds) when the server gave one.
pub const EXPIRES_ENV: &str = "DEVICEFLOW_TOKEN_EXPIRES_AT";

/// `--env NAME`: a portable shell variable name.
pub fn parse_env_name(s: &str) -> Result<String, String> {
    let mut b = s.bytes();
    let ok = b
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("a variable name is letters, digits and '_', not starting with a digit".into())
    }
}

fn expires_at_s(t: &TokenSet) -> Option<u64> {
    t.expires_at.map(|at| at.0 / 1000)
}

/// The token as one header value / one protocol line: no control characters (a server could
/// otherwise inject a second header or credential attribute).
fn one_line(t: &TokenSet) -> Result<&str, CliError> {
    let token = t.access_token.expose();
    if token.is_empty() || token.chars().any(char::is_control) {
        return Err(CliError::new(
            "invalid_response",
            "the server's access token contains control characters; refusing to pass it on",
            crate::exit::FAILURE,
        ));
    }
    Ok(token)
}

/// `Bearer` however the server spelled it; another type (`DPoP`, …) as sent.
fn scheme(t: &TokenSet) -> &str {
    if t.token_type.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else {
        &t.token_type
    }
}

/// RFC 3339 in UTC (`2026-05-01T12:00:00Z`), as Kubernetes' `metav1.Time` expects.
fn rfc3339(unix_s: u64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix_s).ok()?).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The ExecCredential `apiVersion`: the one kubectl asked for in `KUBERNETES_EXEC_INFO`
/// (`v1` or `v1beta1`, which have the same `status` fields), else `v1`.
fn exec_credential_api_version() -> &'static str {
    const V1: &str = "client.authentication.k8s.io/v1";
    const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
    let asked = std::env::var("KUBERNETES_EXEC_INFO")
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["apiVersion"].as_str().map(str::to_owned));
    match asked.as_deref() {
        Some(V1BETA1) => V1BETA1,
        _ => V1,
    }
}

/// The text `deviceflow token --format FORMAT` prints (ends with a newline).
pub fn render(
    format: Format,
    t: &TokenSet,
    env_name: &str,
    now_ms: u64,
) -> Result<String, CliError> {
    let at = expires_at_s(t);
    Ok(match format {
        Format::Raw => format!("{}\n", t.access_token.expose()),
        Format::Json => {
            let expires_in = t
                .expires_at
                .map(|e| (e.0 as i64 - now_ms as i64).div_euclid(1000));
            let line = ndjson::line(&[
                ("access_token", json!(t.access_token.expose())),
                ("token_type", json!(t.token_type)),
                ("expires_in", json!(expires_in)),
                ("expires_at", json!(at)),
            ]);
            format!("{line}\n")
        }
        Format::Header => format!("Authorization: {} {}\n", scheme(t), one_line(t)?),
        Format::Env => {
            let quoted = shlex::try_quote(t.access_token.expose()).map_err(|_| {
                CliError::new(
                    "invalid_response",
                    "the access token contains a NUL byte and cannot be put in a shell variable",
                    crate::exit::FAILURE,
                )
            })?;
            let mut out = format!("export {env_name}={quoted}\n");
            if let Some(at) = at {
                out.push_str(&format!("export {EXPIRES_ENV}={at}\n"));
            }
            out
        }
        Format::ExecCredential => {
            let mut status = serde_json::Map::new();
            status.insert("token".into(), json!(one_line(t)?));
            if let Some(ts) = at.and_then(rfc3339) {
                status.insert("expirationTimestamp".into(), json!(ts));
            }
            let v = json!({
                "apiVersion": exec_credential_api_version(),
                "kind": "ExecCredential",
                "status": status,
            });
            format!("{v}\n")
        }
    })
}

/// Prints without failing on a closed pipe (`deviceflow token | head -c0` is the reader's
/// choice).
fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

pub fn token(profile: &str, json: bool, args: &crate::args::TokenArgs) -> Result<(), CliError> {
    let format = args
        .format
        .unwrap_or(if json { Format::Json } else { Format::Raw });
    let (tokens, key) = fresh_login(profile, args.min_valid)?;
    let now_ms = crate::clock::unix_ms();
    let out = match &key {
        Some(key) => {
            let request = args
                .method
                .as_deref()
                .zip(args.url.as_deref())
                .map(|(m, u)| (m, u, args.nonce.as_deref()));
            render_dpop(format, &tokens, key, request, &args.env, now_ms)?
        }
        None => render(format, &tokens, &args.env, now_ms)?,
    };
    print(&out);
    Ok(())
}

/// One request a DPoP proof is for: method, URL and the resource server's nonce.
pub type ProofFor<'a> = (&'a str, &'a str, Option<&'a str>);

/// [`render`] for a DPoP-bound login: `header` prints `Authorization: DPoP <token>` and
/// `DPoP: <proof>` for the one request given; `exec-credential` is refused (Kubernetes
/// would send the token as a bearer token, which the server refuses).
pub fn render_dpop(
    format: Format,
    t: &TokenSet,
    key: &SoftwareKey,
    request: Option<ProofFor<'_>>,
    env_name: &str,
    now_ms: u64,
) -> Result<String, CliError> {
    match format {
        Format::Header => {
            let (method, url, nonce) = request.ok_or_else(|| {
                CliError::input(
                    "this profile's tokens are bound to a DPoP key (login --dpop):                      `--format header` needs --method and --url of the request,                      since each proof is for one request",
                )
            })?;
            let h = crate::dpop::resource_headers(
                key,
                method,
                url,
                one_line(t)?,
                nonce,
                Timestamp(now_ms),
            )?;
            Ok(format!(
                "Authorization: {}\nDPoP: {}\n",
                h[0].value, h[1].value
            ))
        }
        Format::ExecCredential => Err(dpop_bound("a Kubernetes ExecCredential")),
        _ => render(format, t, env_name, now_ms),
    }
}

/// The refusal to hand a DPoP-bound token to a program that would send it as a bearer token.
fn dpop_bound(what: &str) -> CliError {
    CliError::input(format!(
        "this profile's tokens are bound to a DPoP key (login --dpop): the server accepts the \
         access token only with a proof of that key for each request, so it cannot be used as \
         {what}; use `deviceflow token --format header --method METHOD --url URL` for each \
         request, or log in without --dpop"
    ))
}

/// Refuses a DPoP login before any refresh (`exec`, `git-credential`).
fn refuse_dpop(profile: &str, what: &str) -> Result<(), CliError> {
    if crate::lifecycle::is_dpop(profile)? {
        return Err(dpop_bound(what));
    }
    Ok(())
}

/// The attributes git sends (`key=value` lines up to a blank line or the end), at most 64 KiB.
fn read_git_attributes(input: impl BufRead) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let mut total = 0usize;
    for line in input.lines() {
        let Ok(line) = line else { break };
        total += line.len() + 1;
        if line.is_empty() || total > 64 * 1024 {
            break;
        }
        if let Some((k, v)) = line.split_once('=') {
            attrs.push((k.to_owned(), v.to_owned()));
        }
    }
    attrs
}

/// The helper's answer to `get`: the username (the one git already has, else `--username`),
/// the token as password, and its expiry (git ≥ 2.41 then asks again once it has passed).
pub fn git_answer(
    attrs: &[(String, String)],
    default_user: &str,
    t: &TokenSet,
) -> Result<String, CliError> {
    let user = attrs
        .iter()
        .find(|(k, _)| k == "username")
        .map(|(_, v)| v.as_str())
        .unwrap_or(default_user);
    if user.chars().any(char::is_control) {
        return Err(CliError::input("the username contains control characters"));
    }
    let mut out = format!("username={user}\npassword={}\n", one_line(t)?);
    if let Some(at) = expires_at_s(t) {
        out.push_str(&format!("password_expiry_utc={at}\n"));
    }
    Ok(out)
}

/// `deviceflow git-credential get|store|erase`. `get` answers with a fresh token; `store`
/// and `erase` read their input and do nothing (the tokens are the login's, renewed by
/// refreshing, not by what git remembers); other operations are ignored, as git asks.
pub fn git_credential(
    profile: &str,
    args: &crate::args::GitCredentialArgs,
) -> Result<(), CliError> {
    let attrs = read_git_attributes(std::io::stdin().lock());
    if args.operation != "get" {
        return Ok(());
    }
    refuse_dpop(profile, "a git password")?;
    let tokens = fresh_tokens(profile, args.min_valid)?;
    print(&git_answer(&attrs, &args.username, &tokens)?);
    Ok(())
}

/// `deviceflow exec -- CMD ARGS…`: runs CMD with the token in `--env NAME`. On Unix the
/// process becomes CMD (same PID, signals and exit status); elsewhere CMD's exit status is
/// passed on. 127: CMD not found, 126: not executable.
pub fn exec(profile: &str, args: &crate::args::ExecArgs) -> Result<(), CliError> {
    refuse_dpop(profile, "a bearer token in a command's environment")?;
    let tokens = fresh_tokens(profile, args.min_valid)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::input("no command given: deviceflow exec -- CMD ARGS…"))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest).env(&args.env, tokens.access_token.expose());
    let failed = |e: std::io::Error| {
        let exit = match e.kind() {
            std::io::ErrorKind::NotFound => 127,
            _ => 126,
        };
        CliError::new(
            "exec_failed",
            format!("cannot run {}: {e}", program.to_string_lossy()),
            exit,
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        Err(failed(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(failed)?;
        std::process::exit(status.code().unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(token: &str, token_type: &str, expires_at_ms: Option<u64>) -> TokenSet {
        serde_json::from_value(json!({
            "access_token": token, "token_type": token_type, "expires_at": expires_at_ms,
            "refresh_token": "rt-secret", "extra": {}
        }))
        .unwrap()
    }

    #[test]
    fn every_format() {
        let t = tokens("at.1-x", "bearer", Some(1_800_000_000_500));
        let now = 1_800_000_000_500 - 3_600_000;
        let r = |f| render(f, &t, "MY_TOKEN", now).unwrap();
        assert_eq!(r(Format::Raw), "at.1-x\n");
        assert_eq!(
            r(Format::Json),
            "{\"access_token\":\"at.1-x\",\"token_type\":\"bearer\",\"expires_in\":3600,\"expires_at\":1800000000}\n"
        );
        assert_eq!(r(Format::Header), "Authorization: Bearer at.1-x\n");
        assert_eq!(
            r(Format::Env),
            "export MY_TOKEN=at.1-x\nexport DEVICEFLOW_TOKEN_EXPIRES_AT=1800000000\n"
        );
        let v: Value = serde_json::from_str(&r(Format::ExecCredential)).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                   "status": {"token": "at.1-x", "expirationTimestamp": "2027-01-15T08:00:00Z"}})
        );
        let dpop = tokens("at", "DPoP", None);
        assert_eq!(
            render(Format::Header, &dpop, DEFAULT_ENV, 0).unwrap(),
            "Authorization: DPoP at\n"
        );
        let v: Value =
            serde_json::from_str(&render(Format::ExecCredential, &dpop, DEFAULT_ENV, 0).unwrap())
                .unwrap();
        assert!(v["status"].get("expirationTimestamp").is_none(), "{v}");
        assert_eq!(
            render(Format::Env, &dpop, DEFAULT_ENV, 0).unwrap(),
            "export DEVICEFLOW_ACCESS_TOKEN=at\n"
        );
    }

    #[test]
    fn dpop_formats() {
        let key = SoftwareKey::from_bytes(&[5; 32]).unwrap();
        let t = tokens("at", "DPoP", None);
        let now = 1_700_000_000_000;
        let e = render_dpop(Format::Header, &t, &key, None, DEFAULT_ENV, now).unwrap_err();
        assert!(e.message.contains("--method and --url"), "{}", e.message);
        let out = render_dpop(
            Format::Header,
            &t,
            &key,
            Some(("GET", "https://api.example/me", None)),
            DEFAULT_ENV,
            now,
        )
        .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Authorization: DPoP at");
        assert!(lines[1].starts_with("DPoP: ey"), "{out}");
        assert_eq!(lines.len(), 2);
        assert!(render_dpop(Format::ExecCredential, &t, &key, None, DEFAULT_ENV, now).is_err());
        assert_eq!(
            render_dpop(Format::Raw, &t, &key, None, DEFAULT_ENV, now).unwrap(),
            "at\n"
        );
        let bad = tokens("at\r\nX: 1", "DPoP", None);
        let req = Some(("GET", "https://api.example/me", None));
        assert!(render_dpop(Format::Header, &bad, &key, req, DEFAULT_ENV, now).is_err());
    }

    #[test]
    fn env_lines_survive_a_real_shell() {
        let nasty = "a'b\"c $(touch /tmp/x) `id` \\ ; & |";
        let t = tokens(nasty, "Bearer", None);
        let script = render(Format::Env, &t, "T", 0).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{script}printf %s \"$T\""))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
    }

    #[test]
    fn a_line_break_in_the_token_never_reaches_a_header_or_git() {
        let t = tokens("at\r\nX-Evil: 1", "Bearer", None);
        assert!(render(Format::Header, &t, DEFAULT_ENV, 0).is_err());
        assert!(render(Format::ExecCredential, &t, DEFAULT_ENV, 0).is_err());
        assert!(git_answer(&[], "oauth2", &t).is_err());
    }

    #[test]
    fn git_protocol() {
        let input = b"protocol=https\nhost=example.com\nusername=alice\n\nignored=1\n";
        let attrs = read_git_attributes(&input[..]);
        assert_eq!(attrs.len(), 3);
        let t = tokens("tok", "Bearer", Some(2_000_000_000_000));
        assert_eq!(
            git_answer(&attrs, "oauth2", &t).unwrap(),
            "username=alice\npassword=tok\npassword_expiry_utc=2000000000\n"
        );
        assert_eq!(
            git_answer(&attrs[..2], "oauth2", &tokens("tok", "Bearer", None)).unwrap(),
            "username=oauth2\npassword=tok\n"
        );
    }

    #[test]
    fn env_names() {
        for ok in ["A", "_x", "GITHUB_TOKEN", "t1"] {
            assert!(parse_env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "É"] {
            assert!(parse_env_name(bad).is_err(), "{bad}");
        }
    }
}
