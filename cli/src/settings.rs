//! Process-wide network settings, fixed once in `main` before any command runs:
//! the per-request HTTP deadline (`--http-timeout`, `DEVICEFLOW_HTTP_TIMEOUT`) and the
//! core's timing and limits (`DEVICEFLOW_TIMING`, for tests: a JSON object with any
//! fields of `deviceflow::Timing`, the rest keep their defaults).

use crate::exit::CliError;
use deviceflow::display::clean_text;
use deviceflow::Timing;
use std::sync::OnceLock;
use std::time::Duration;

/// Default whole-request deadline (connect, send, response head and body).
pub const DEFAULT_HTTP_TIMEOUT_S: u64 = 30;
/// Longest `--http-timeout` accepted.
const MAX_HTTP_TIMEOUT_S: f64 = 3600.0;
/// The environment variable with the core timing (tests only).
pub const TIMING_ENV: &str = "DEVICEFLOW_TIMING";

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Deadline of one HTTP request, from connecting to the last body byte.
    pub http_timeout: Duration,
    /// Retries, backoff and limits handed to every core operation.
    pub timing: Timing,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            http_timeout: Duration::from_secs(DEFAULT_HTTP_TIMEOUT_S),
            timing: Timing::default(),
        }
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Reads `DEVICEFLOW_TIMING` and fixes the settings for this process.
pub fn configure(http_timeout: Duration) -> Result<(), CliError> {
    let timing = match std::env::var(TIMING_ENV) {
        Ok(text) if !text.trim().is_empty() => parse_timing(&text)?,
        Ok(_) | Err(std::env::VarError::NotPresent) => Timing::default(),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CliError::input(format!("{TIMING_ENV} is not UTF-8")))
        }
    };
    let _ = SETTINGS.set(Settings {
        http_timeout,
        timing,
    });
    Ok(())
}

/// The settings (defaults when `configure` was not called, as in unit tests).
pub fn get() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// The core timing for a new operation.
pub fn timing() -> Timing {
    get().timing.clone()
}

/// `--http-timeout`: seconds, decimals allowed (`0.5`), more than 0 and at most an hour.
pub fn parse_http_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds: {:?}", clean_text(s)))?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_HTTP_TIMEOUT_S {
        return Err(format!(
            "must be more than 0 and at most {MAX_HTTP_TIMEOUT_S} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs).max(Duration::from_millis(1)))
}

/// A JSON object whose keys are `Timing` fields; unknown keys are refused (typos).
fn parse_timing(text: &str) -> Result<Timing, CliError> {
    let bad = |why: String| CliError::input(format!("{TIMING_ENV}: {}", clean_text(&why)));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let serde_json::Value::Object(fields) = &value else {
        return Err(bad(
            "wants a JSON object such as {\"request_retries\":1}".into()
        ));
    };
    let known = serde_json::to_value(Timing::default()).expect("Timing serialises");
    let known = known.as_object().expect("Timing is an object");
    if let Some(unknown) = fields.keys().find(|k| !known.contains_key(*k)) {
        let names: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(bad(format!(
            "unknown field {unknown:?}; known: {}",
            names.join(", ")
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_timeouts() {
        assert_eq!(parse_http_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_http_timeout("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "nan", "inf", "3601", "", "1s"] {
            assert!(parse_http_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timing_from_json() {
        let t =
            parse_timing(r#"{"request_retries":1,"retry_base_ms":100,"max_transient_failures":2}"#)
                .unwrap();
        assert_eq!(t.request_retries, 1);
        assert_eq!(t.retry_base_ms, 100);
        assert_eq!(t.max_transient_failures, 2);
        assert_eq!(t.max_body_bytes, Timing::default().max_body_bytes);
        assert!(parse_timing(r#"{"request_retry":1}"#)
            .unwrap_err()
            .message
            .contains("unknown field"));
        assert!(parse_timing("[1]").is_err());
        assert!(parse_timing(r#"{"request_retries":-1}"#).is_err());
        assert_eq!(parse_timing("{}").unwrap(), Timing::default());
        assert_eq!(
            parse_timing("{").unwrap_err().exit,
            crate::exit::INVALID_INPUT
        );
    }
}
