//! Replays every `tests/vectors/*.json` (the cross-language source of truth)
//! through the Rust API. The format is documented in `tests/vectors/README.md`.

use deviceflow::json::ToJson;
mod common;

use common::vectors::{response, subset};
use deviceflow::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

enum Op {
    Flow(Box<DeviceFlow>),
    Discovery(Discovery),
    Refresh(Refresh),
    Revocation(Revocation),
}

/// Why `Op::new` made no machine: the core refused the configuration (`ConfigError`, what a
/// `config_error` vector expects), or the vector's config did not even deserialize (a broken
/// vector, never a pass).
enum NotMade {
    Config(ConfigError),
    Harness(String),
}

impl From<ConfigError> for NotMade {
    fn from(e: ConfigError) -> Self {
        NotMade::Config(e)
    }
}

impl From<&str> for NotMade {
    fn from(e: &str) -> Self {
        NotMade::Harness(e.to_owned())
    }
}

impl std::fmt::Display for NotMade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotMade::Config(e) => write!(f, "{e} ({})", e.code()),
            NotMade::Harness(e) => f.write_str(e),
        }
    }
}

/// The config as the crate's own JSON reader sees it.
fn own(config: &Value) -> json::Value {
    json::parse(&config.to_string()).unwrap()
}

/// The crate's own config reader (`json::config`, what the wasm build uses) reads what serde
/// reads.
fn agree<T: PartialEq + std::fmt::Debug>(serde: &T, own: Result<T, String>) {
    assert_eq!(own.as_ref(), Ok(serde), "json::config and serde disagree");
}

impl Op {
    fn new(kind: &str, config: &Value, now: Timestamp) -> Result<Op, NotMade> {
        let err = |e: &dyn std::fmt::Display| NotMade::Harness(e.to_string());
        Ok(match kind {
            "device_flow" => {
                let c: Config = serde_json::from_value(config.clone()).map_err(|e| err(&e))?;
                agree(&c, json::config::device_flow(&own(config)));
                Op::Flow(Box::new(DeviceFlow::new(c, now)?))
            }
            "discovery" => {
                let issuer = config["issuer"]
                    .as_str()
                    .ok_or("discovery config needs issuer")?;
                let timing: Timing =
                    serde_json::from_value(config.get("timing").cloned().unwrap_or(json!({})))
                        .map_err(|e| err(&e))?;
                Op::Discovery(Discovery::with_timing(issuer, timing, now)?)
            }
            "refresh" => {
                let c: RefreshConfig =
                    serde_json::from_value(config.clone()).map_err(|e| err(&e))?;
                agree(&c, json::config::refresh(own(config).as_object().unwrap()));
                let extra: Vec<String> = serde_json::from_value(
                    config
                        .get("extra_token_types")
                        .cloned()
                        .unwrap_or(json!([])),
                )
                .map_err(|e| err(&e))?;
                Op::Refresh(Refresh::new(c, now)?.with_extra_token_types(extra))
            }
            "revocation" => {
                let c: RevocationConfig =
                    serde_json::from_value(config.clone()).map_err(|e| err(&e))?;
                agree(
                    &c,
                    json::config::revocation(own(config).as_object().unwrap()),
                );
                Op::Revocation(Revocation::new(c, now)?)
            }
            other => return Err(NotMade::Harness(format!("unknown operation {other}"))),
        })
    }

    /// The action as JSON. Checks on the way that the crate's own writer
    /// (`json::ToJson`, what the wasm build uses) agrees with serde.
    fn poll(&mut self, now: Timestamp) -> Value {
        fn both<T>(action: Action<T>) -> Value
        where
            Action<T>: serde::Serialize + ToJson,
        {
            let serde = serde_json::to_value(&action).unwrap();
            let own: Value = serde_json::from_str(&action.to_json()).unwrap_or_else(|e| {
                panic!("ToJson wrote invalid JSON ({e}): {}", action.to_json())
            });
            assert_eq!(own, serde, "ToJson and serde disagree");
            serde
        }
        match self {
            Op::Flow(m) => both(m.poll_action(now)),
            Op::Discovery(m) => both(m.poll_action(now)),
            Op::Refresh(m) => both(m.poll_action(now)),
            Op::Revocation(m) => both(m.poll_action(now)),
        }
    }

    fn respond(
        &mut self,
        id: RequestId,
        r: HttpResponse,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        match self {
            Op::Flow(m) => m.handle_response(id, r, now),
            Op::Discovery(m) => m.handle_response(id, r, now),
            Op::Refresh(m) => m.handle_response(id, r, now),
            Op::Revocation(m) => m.handle_response(id, r, now),
        }
    }

    fn transport(
        &mut self,
        id: RequestId,
        k: TransportError,
        now: Timestamp,
    ) -> Result<(), MisuseError> {
        match self {
            Op::Flow(m) => m.handle_transport_error(id, k, now),
            Op::Discovery(m) => m.handle_transport_error(id, k, now),
            Op::Refresh(m) => m.handle_transport_error(id, k, now),
            Op::Revocation(m) => m.handle_transport_error(id, k, now),
        }
    }

    fn cancel(&mut self, now: Timestamp) -> Result<(), MisuseError> {
        match self {
            Op::Flow(m) => m.cancel(now),
            Op::Discovery(m) => m.cancel(now),
            Op::Refresh(m) => m.cancel(now),
            Op::Revocation(m) => m.cancel(now),
        }
    }
}

/// The crate's JSON reader agrees with serde_json on every body a vector sends.
fn check_reader(body: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(());
    };
    let theirs = serde_json::from_str::<Value>(text);
    let ours = json::parse(text);
    match (ours, theirs) {
        (Ok(o), Ok(t)) if serde_json::to_value(&o).unwrap() == t => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        (o, t) => Err(format!(
            "json::parse and serde_json disagree on {:?}: {:?} vs {:?}",
            &text[..text.len().min(200)],
            o.map(|v| v.to_string()),
            t.map(|v| v.to_string())
        )),
    }
}

fn check_misuse(step: &Value, result: Result<(), MisuseError>) -> Result<(), String> {
    match (step.get("misuse").and_then(Value::as_str), result) {
        (None, Ok(())) => Ok(()),
        (Some(code), Err(e)) if e.code() == code => Ok(()),
        (want, got) => Err(format!("misuse: expected {want:?}, got {got:?}")),
    }
}

/// With `DEVICEFLOW_REGEN_WAITS=FILE`, a `wait` whose `until`/`delay_ms` differ is
/// recorded as `{step, until, delay_ms}` (the actual values) instead of failing, so a
/// deliberate timing change can be applied to every vector by a script; any other
/// difference still fails. Never set in CI.
fn regen_wait(expect: &Value, action: &Value) -> Option<Value> {
    std::env::var_os("DEVICEFLOW_REGEN_WAITS")?;
    if expect["type"] != "wait" || action["type"] != "wait" {
        return None;
    }
    let mut rest = expect.clone();
    let o = rest.as_object_mut()?;
    let had = o.remove("until").is_some() | o.remove("delay_ms").is_some();
    (had && subset(&rest, action, "action").is_ok())
        .then(|| json!({"until": action["until"], "delay_ms": action["delay_ms"]}))
}

fn run_with(vector: &Value, edits: &mut Vec<Value>) -> Result<(), String> {
    let start = Timestamp(vector["start"].as_u64().unwrap_or(0));
    let kind = vector["operation"].as_str().unwrap_or("device_flow");
    let op = Op::new(kind, &vector["config"], start);
    if vector.get("config_error").and_then(Value::as_bool) == Some(true) {
        // The core's own refusal, with its code, as Python and JS check: a config that fails to
        // deserialize (a typo in the vector) must not pass as the expected error.
        return match op {
            Err(NotMade::Config(e)) if e.code() == "invalid_config" => Ok(()),
            Err(other) => Err(format!("expected invalid_config, got {other}")),
            Ok(_) => Err("expected a configuration error".into()),
        };
    }
    let mut op = op.map_err(|e| e.to_string())?;
    let mut last_id = None;
    // Regeneration only: later steps move by as much as the last re-timed wait moved.
    let mut shift: i64 = 0;
    let time = |v: &Value, shift: i64| Timestamp((v.as_u64().unwrap() as i64 + shift) as u64);
    for (i, step) in vector["steps"]
        .as_array()
        .ok_or("no steps")?
        .iter()
        .enumerate()
    {
        let at = |what: String| format!("step {i}: {what}");
        if shift != 0 {
            edits.push(json!({"step": i, "shift": shift}));
        }
        if let Some(now) = step.get("poll") {
            let action = op.poll(time(now, shift));
            if action["type"] == "send" {
                last_id = Some(RequestId(action["id"].as_u64().unwrap()));
            }
            if let Err(e) = subset(&step["expect"], &action, "action") {
                match regen_wait(&step["expect"], &action) {
                    Some(mut edit) => {
                        if let Some(old) = step["expect"]["until"].as_u64() {
                            shift = edit["until"].as_i64().unwrap() - old as i64;
                        }
                        edit["step"] = json!(i);
                        edits.push(edit);
                    }
                    None => return Err(at(format!("{e}\n  actual: {action}"))),
                }
            }
        } else if let Some(r) = step.get("respond") {
            let id = r
                .get("id")
                .and_then(Value::as_u64)
                .map(RequestId)
                .or(last_id)
                .ok_or_else(|| at("no request to answer".into()))?;
            let now = time(&r["now"], shift);
            let resp = response(r);
            check_reader(&resp.body).map_err(at)?;
            check_misuse(step, op.respond(id, resp, now)).map_err(at)?;
        } else if let Some(t) = step.get("transport_error") {
            let id = t
                .get("id")
                .and_then(Value::as_u64)
                .map(RequestId)
                .or(last_id)
                .ok_or_else(|| at("no request".into()))?;
            let kind: TransportError =
                serde_json::from_value(t["kind"].clone()).map_err(|e| at(e.to_string()))?;
            check_misuse(step, op.transport(id, kind, time(&t["now"], shift))).map_err(at)?;
        } else if let Some(now) = step.get("cancel") {
            check_misuse(step, op.cancel(time(now, shift))).map_err(at)?;
        } else {
            return Err(at(format!("unknown step {step}")));
        }
    }
    Ok(())
}

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn replay_all_vectors() {
    let files = vector_files();
    let mut failures = Vec::new();
    let mut regen = serde_json::Map::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let vector: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut edits = Vec::new();
        if let Err(e) = run_with(&vector, &mut edits) {
            failures.push(format!(
                "{}: {}\n  {e}",
                file.file_name().unwrap().to_string_lossy(),
                vector["name"]
            ));
        }
        if !edits.is_empty() {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            regen.insert(name, Value::Array(edits));
        }
    }
    if let Some(out) = std::env::var_os("DEVICEFLOW_REGEN_WAITS") {
        std::fs::write(out, serde_json::to_string_pretty(&regen).unwrap()).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(
        files.len() >= 50,
        "expected at least 50 vectors, found {}",
        files.len()
    );
}
