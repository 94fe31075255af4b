//! NDJSON on stdout for agents: one object per line, flushed at once, nothing else
//! on stdout. Keys keep the order given (`status` first). serde_json escapes every
//! control character, so server strings cannot break a line or reach a terminal raw.

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

pub fn error(code: &str, description: &str) {
    emit(&[
        ("status", "error".into()),
        ("error", code.into()),
        ("error_description", description.into()),
    ]);
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
}
