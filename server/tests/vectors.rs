//! Replays `tests/vectors/server/*.json` against the engine (format: that folder's README).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use deviceflow_server::engine::Store;
use deviceflow_server::engine::{
    ClientRequest, Engine, EngineConfig, Entrant, EntryError, Params, Response,
};
use deviceflow_server::store::{MemoryStore, SqliteStore};
use serde_json::{Map, Value};

mod fixtures;
use fixtures::{clients, TestRng};
mod pg;

fn engine<S: Store>(config: &Value, store: S) -> Engine<S> {
    let mut c = EngineConfig::new("https://as.example", [42; 32]);
    let num = |k: &str| config.get(k).and_then(Value::as_i64);
    if let Some(v) = num("interval_s") {
        c.interval_ms = v * 1000;
    }
    if let Some(v) = num("device_code_ttl_s") {
        c.device_code_ttl_ms = v * 1000;
    }
    if let Some(v) = num("failures_per_source") {
        c.limits.failures_per_source = v as u32;
    }
    if let Some(v) = num("failures_global") {
        c.limits.failures_global = v as u32;
    }
    if let Some(v) = num("failures_per_session") {
        c.limits.failures_per_session = v as u32;
    }
    if let Some(v) = num("paced_entry_ms") {
        c.limits.paced_entry_ms = v as u64;
    }
    if let Some(v) = num("breaker_entry_ms") {
        c.limits.breaker_entry_ms = v as u64;
    }
    if let Some(v) = num("entries_per_code") {
        c.limits.entries_per_code = v as u32;
    }
    Engine::new(c, clients(), store)
}

/// `$name`, `$name|lower`, `$name|nodash`: a value saved by an earlier step.
fn expand(value: &str, vars: &HashMap<String, String>) -> String {
    let Some(rest) = value.strip_prefix('$') else {
        return value.to_owned();
    };
    let mut parts = rest.split('|');
    let name = parts.next().unwrap();
    let mut v = vars
        .get(name)
        .unwrap_or_else(|| panic!("no ${name} yet"))
        .clone();
    for f in parts {
        v = match f {
            "lower" => v.to_lowercase(),
            "nodash" => v.replace('-', ""),
            other => panic!("unknown filter {other}"),
        };
    }
    v
}

fn client_request(step: &Value, key: &str, vars: &HashMap<String, String>) -> ClientRequest {
    let params: Vec<(String, String)> = step[key]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), expand(v.as_str().unwrap(), vars)))
        .collect();
    let authorization = step.get("basic").map(|b| {
        let creds = format!("{}:{}", b[0].as_str().unwrap(), b[1].as_str().unwrap());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(creds)
        )
    });
    ClientRequest {
        params: Params::from_pairs(params),
        authorization,
        source: step
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("192.0.2.1")
            .into(),
    }
}

/// Saves secrets from a 200 body: `$device_code`, `$user_code`, `$access_token`,
/// `$refresh_token`, plus numbered copies (`$refresh_token_1`, …).
fn remember(body: &Value, vars: &mut HashMap<String, String>, counts: &mut HashMap<String, u32>) {
    for key in ["device_code", "user_code", "access_token", "refresh_token"] {
        if let Some(v) = body.get(key).and_then(Value::as_str) {
            let n = counts.entry(key.to_owned()).or_default();
            *n += 1;
            vars.insert(key.to_owned(), v.to_owned());
            vars.insert(format!("{key}_{n}"), v.to_owned());
        }
    }
}

fn check_response(name: &str, i: usize, r: &Response, expect: &Map<String, Value>) {
    let ctx = format!("{name} step {i}: status {} body {}", r.status, r.body);
    if let Some(s) = expect.get("status") {
        assert_eq!(u64::from(r.status), s.as_u64().unwrap(), "{ctx}");
    }
    if let Some(e) = expect.get("error") {
        assert_eq!(&r.body["error"], e, "{ctx}");
    }
    if let Some(Value::Object(fields)) = expect.get("body") {
        for (k, v) in fields {
            assert_eq!(&r.body[k], v, "{ctx}: field {k}");
        }
    }
    for k in expect
        .get("has")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert!(
            r.body.get(k.as_str().unwrap()).is_some(),
            "{ctx}: missing {k}"
        );
    }
    for k in expect
        .get("lacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert!(
            r.body.get(k.as_str().unwrap()).is_none(),
            "{ctx}: unexpected {k}"
        );
    }
}

fn run<S: Store>(name: &str, vector: &Value, store: S) {
    let engine = engine(&vector["config"], store);
    let mut rng = TestRng(0);
    let mut vars = HashMap::new();
    let mut counts = HashMap::new();
    let mut device_id: Option<String> = None;
    for (i, step) in vector["steps"].as_array().unwrap().iter().enumerate() {
        let at = step["at"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} step {i}: no `at`"));
        let expect = step["expect"].as_object().cloned().unwrap_or_default();
        let response = if step.get("device_authorization").is_some() {
            let req = client_request(step, "device_authorization", &vars);
            Some(engine.handle_device_authorization(&req, at, &mut rng))
        } else if step.get("token").is_some() {
            Some(engine.handle_token(&client_request(step, "token", &vars), at, &mut rng))
        } else if step.get("revoke").is_some() {
            Some(engine.handle_revocation(&client_request(step, "revoke", &vars), at))
        } else {
            None
        };
        if let Some(r) = response {
            check_response(name, i, &r, &expect);
            if r.status == 200 {
                remember(&r.body, &mut vars, &mut counts);
            }
            continue;
        }
        let result = if let Some(entry) = step.get("enter_code") {
            let input = expand(entry["input"].as_str().unwrap(), &vars);
            let source = entry["source"].as_str().unwrap_or("198.51.100.1");
            let mut who = Entrant::new(entry["session"].as_str().unwrap_or(source), source);
            who.paced = entry["paced"].as_bool().unwrap_or(false);
            match engine.handle_user_code(&input, &who, at) {
                Err(EntryError::Pace { delay_ms }) => {
                    if let Some(want) = expect.get("delay_ms") {
                        assert_eq!(&Value::from(delay_ms), want, "{name} step {i}");
                    }
                    "pace".to_owned()
                }
                Ok(p) => {
                    if let Some(want) = expect.get("scopes") {
                        assert_eq!(&serde_json::json!(p.scopes), want, "{name} step {i}");
                    }
                    device_id = Some(p.device_id);
                    "ok".to_owned()
                }
                Err(e) => entry_error(&e).to_owned(),
            }
        } else if let Some(d) = step.get("decide") {
            let id = device_id.clone().unwrap_or_default();
            let approve = d["approve"].as_bool().unwrap();
            let subject = d["subject"].as_str().unwrap_or("alice");
            match engine.handle_decision(&id, subject, "198.51.100.2", approve, at) {
                Ok(status) => status.as_str().to_owned(),
                Err(e) => entry_error(&e).to_owned(),
            }
        } else {
            panic!("{name} step {i}: unknown step {step}");
        };
        assert_eq!(
            Some(&Value::from(result.clone())),
            expect.get("result"),
            "{name} step {i}: got {result}"
        );
    }
}

fn entry_error(e: &EntryError) -> &'static str {
    match e {
        EntryError::Invalid => "invalid",
        EntryError::TooManyAttempts => "too_many_attempts",
        EntryError::Pace { .. } => "pace",
        EntryError::Store(_) => "store_error",
    }
}

#[test]
fn server_vectors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/server");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the server vectors in {dir:?}");
    let postgres = pg::server("the server vectors on PostgreSQL");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every vector runs on every store: they must agree.
        run(
            &format!("{name} (memory)"),
            &vector,
            Arc::new(MemoryStore::new()),
        );
        run(
            &format!("{name} (sqlite)"),
            &vector,
            SqliteStore::in_memory().unwrap(),
        );
        if let Some(server) = &postgres {
            let schema = pg::Schema::on(server, "vectors");
            run(&format!("{name} (postgres)"), &vector, schema.store());
        }
    }
}
