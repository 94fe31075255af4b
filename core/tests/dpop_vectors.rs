//! Replays `tests/vectors/dpop/*.json`: DPoP proofs with fixed keys, clocks and
//! entropy (so fixed `jti`). Same format as `tests/vectors/README.md`, plus a
//! `sign` step (see `tests/vectors/dpop/README.md`).

mod common;

use common::vectors::{response, subset};
use deviceflow::*;
use serde_json::{json, Value};
use std::path::Path;

enum Op {
    Flow(Box<DeviceFlow>),
    Refresh(Refresh),
    Revocation(Revocation),
}

macro_rules! each {
    ($op:expr, $m:ident => $body:expr) => {
        match $op {
            Op::Flow($m) => $body,
            Op::Refresh($m) => $body,
            Op::Revocation($m) => $body,
        }
    };
}

fn build(kind: &str, config: &Value, now: Timestamp) -> Result<Op, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let dpop: Option<DpopConfig> = config
        .get("dpop")
        .map(|d| serde_json::from_value(d.clone()).map_err(|x| e(&x)))
        .transpose()?;
    Ok(match kind {
        "device_flow" => {
            let c: Config = serde_json::from_value(config.clone()).map_err(|x| e(&x))?;
            Op::Flow(Box::new(DeviceFlow::new(c, now).map_err(|x| e(&x))?))
        }
        "refresh" => {
            let c: RefreshConfig = serde_json::from_value(config.clone()).map_err(|x| e(&x))?;
            let r = Refresh::new(c, now).map_err(|x| e(&x))?;
            Op::Refresh(match dpop {
                Some(d) => r.with_dpop(d).map_err(|x| e(&x))?,
                None => r,
            })
        }
        "revocation" => {
            let c: RevocationConfig = serde_json::from_value(config.clone()).map_err(|x| e(&x))?;
            let r = Revocation::new(c, now).map_err(|x| e(&x))?;
            Op::Revocation(match dpop {
                Some(d) => r.with_dpop(d).map_err(|x| e(&x))?,
                None => r,
            })
        }
        other => return Err(format!("unknown operation {other}")),
    })
}

fn poll(op: &mut Op, now: Timestamp) -> Value {
    each!(op, m => serde_json::to_value(m.poll_action(now)).unwrap())
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check(step: &Value, r: Result<(), MisuseError>) -> Result<(), String> {
    match (step.get("misuse").and_then(Value::as_str), r) {
        (None, Ok(())) => Ok(()),
        (Some(code), Err(e)) if e.code() == code => Ok(()),
        (want, got) => Err(format!("misuse: expected {want:?}, got {got:?}")),
    }
}

/// With `DEVICEFLOW_DPOP_FILL` set, `"FILL"` in an expectation takes the actual
/// value (to write a new vector; the file is rewritten). Never set in CI.
fn fill(expected: &mut Value, actual: &Value) {
    if let Value::Object(e) = expected {
        for (k, ev) in e.iter_mut() {
            if k == "headers" && ev.is_object() {
                for (name, want) in ev.as_object_mut().unwrap() {
                    if want == "FILL" {
                        *want = actual["headers"]
                            .as_array()
                            .and_then(|hs| hs.iter().find(|h| h["name"] == name.as_str()))
                            .map(|h| h["value"].clone())
                            .unwrap_or(Value::Null);
                    }
                }
            } else if ev == "FILL" {
                *ev = actual[k].clone();
            } else {
                fill(ev, &actual[k]);
            }
        }
    }
}

fn run(vector: &mut Value) -> Result<(), String> {
    let start = Timestamp(vector["start"].as_u64().unwrap_or(0));
    let kind = vector["operation"].as_str().unwrap_or("device_flow");
    let op = build(kind, &vector["config"].clone(), start);
    if vector["config_error"] == json!(true) {
        return match op {
            Err(_) => Ok(()),
            Ok(_) => Err("expected a configuration error".into()),
        };
    }
    let mut op = op?;
    let (mut last_send, mut last_sign) = (None, None);
    let filling = std::env::var_os("DEVICEFLOW_DPOP_FILL").is_some();
    for (i, step) in vector["steps"]
        .as_array_mut()
        .ok_or("no steps")?
        .iter_mut()
        .enumerate()
    {
        let at = |w: String| format!("step {i}: {w}");
        if let Some(now) = step.get("poll") {
            let action = poll(&mut op, Timestamp(now.as_u64().unwrap()));
            match action["type"].as_str() {
                Some("send") => last_send = action["id"].as_u64(),
                Some("sign") => last_sign = action["id"].as_u64(),
                _ => {}
            }
            if filling {
                fill(&mut step["expect"], &action);
            }
            subset(&step["expect"], &action, "action")
                .map_err(|e| at(format!("{e}\n  actual: {action}")))?;
        } else if let Some(s) = step.get("sign") {
            let id = RequestId(
                s.get("id")
                    .and_then(Value::as_u64)
                    .or(last_sign)
                    .ok_or("no sign")?,
            );
            let sig = match (s.get("raw_hex"), s.get("der_hex")) {
                (Some(h), _) | (None, Some(h)) => hex(h.as_str().unwrap()),
                _ => return Err(at("sign needs raw_hex or der_hex".into())),
            };
            let now = Timestamp(s["now"].as_u64().unwrap());
            check(step, each!(&mut op, m => m.handle_signature(id, &sig, now))).map_err(at)?;
        } else if let Some(r) = step.get("respond") {
            let id = RequestId(
                r.get("id")
                    .and_then(Value::as_u64)
                    .or(last_send)
                    .ok_or("no send")?,
            );
            let now = Timestamp(r["now"].as_u64().unwrap());
            let resp = response(r);
            check(step, each!(&mut op, m => m.handle_response(id, resp, now))).map_err(at)?;
        } else {
            return Err(at(format!("unknown step {step}")));
        }
    }
    Ok(())
}

#[test]
fn replay_dpop_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dpop");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        if let Err(e) = run(&mut v) {
            failures.push(format!("{}: {e}", f.display()));
        }
        if std::env::var_os("DEVICEFLOW_DPOP_FILL").is_some() {
            std::fs::write(f, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        files.len() >= 5,
        "expected at least 5 DPoP vectors, found {}",
        files.len()
    );
}

/// The fixed key of the vectors: its JWK is what the vectors carry, and a proof
/// signed with it verifies (the vectors' own signatures are fixed bytes).
#[test]
fn vector_key_matches() {
    let key = SoftwareKey::from_bytes(&(1..=32).collect::<Vec<u8>>()).unwrap();
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/vectors/dpop/dpop_device_flow_proofs.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let jwk: PublicJwk = serde_json::from_value(v["config"]["dpop"]["jwk"].clone()).unwrap();
    assert_eq!(key.public_jwk(), jwk);
    assert!(!format!("{key:?}").contains(key.secret().expose()));
}
