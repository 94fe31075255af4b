//! NDJSON on stdout for agents: one object per line, flushed at once, nothing else
//! on stdout. Keys keep the order given (`status` first). serde_json escapes every
//! control character, so server strings cannot break a line or reach a terminal raw.

use crate::exit::CliError;
use serde_json::Value;
use std::io::Write;

/// An object with its keys in this order, as one line.
pub fn line(fields: &[(&str, Value)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(*k), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

pub fn emit(fields: &[(&str, Value)]) {
    let mut out = std::io::stdout().lock();
    // A reader that went away (EPIPE) is not our failure to report.
    let _ = writeln!(out, "{}", line(fields));
    let _ = out.flush();
}

/// An error line with our code and sentence only (the demo's own failures).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub fn error(code: &str, description: &str) {
    emit(&[
        ("status", "error".into()),
        ("error", code.into()),
        ("error_description", description.into()),
    ]);
}

/// The error line of a failed command: our stable `error` code and sentence, then, when the
/// server answered with an OAuth error, its own words as `oauth_error`,
/// `oauth_error_description`, `oauth_error_uri` and the `http_status` (each only when present).
pub fn error_line(e: &CliError) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("status", "error".into()),
        ("error", e.code.as_str().into()),
        ("error_description", e.message.as_str().into()),
    ];
    let s = &e.server;
    for (k, v) in [
        ("oauth_error", &s.error),
        ("oauth_error_description", &s.error_description),
        ("oauth_error_uri", &s.error_uri),
    ] {
        if let Some(v) = v {
            fields.push((k, v.as_str().into()));
        }
    }
    if let Some(st) = s.status {
        fields.push(("http_status", st.into()));
    }
    fields
}

pub fn error_of(e: &CliError) {
    emit(&error_line(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_and_escaped() {
        let l = line(&[
            ("status", "error".into()),
            ("error_description", "a\u{1b}[2J\nb\"".into()),
            ("n", Value::Null),
        ]);
        assert_eq!(
            l,
            r#"{"status":"error","error_description":"a\u001b[2J\nb\"","n":null}"#
        );
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["status"], "error");
    }

    #[test]
    fn the_servers_own_error_travels_beside_ours() {
        let mut fe = deviceflow::FlowError::new(deviceflow::ErrorCode::ServerError, "refused");
        fe.error = Some("consent_required".into());
        fe.error_description = Some("ask\nthe admin".into());
        fe.status = Some(400);
        let l = line(&error_line(&CliError::from(fe)));
        assert_eq!(
            l,
            r#"{"status":"error","error":"server_error","error_description":"refused","oauth_error":"consent_required","oauth_error_description":"ask\nthe admin","http_status":400}"#
        );
        let plain = line(&error_line(&CliError::input("bad")));
        assert!(
            !plain.contains("oauth_error") && !plain.contains("http_status"),
            "{plain}"
        );
    }
}
