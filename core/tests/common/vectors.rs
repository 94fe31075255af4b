//! The shared vectors' format (`tests/vectors/README.md`): what a step's response spec
//! builds, and how an expected action is matched.

use deviceflow::{Header, HttpResponse};
use serde_json::Value;

/// `expected` ⊆ `actual`: every key given must match; `null` matches null or absent;
/// a `headers` map matches a header list by case-insensitive name.
pub fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                if k == "headers" && ev.is_object() && av.is_array() {
                    for (name, want) in ev.as_object().unwrap() {
                        let got = av.as_array().unwrap().iter().find(|h| {
                            h["name"]
                                .as_str()
                                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                        });
                        let got = got.map(|h| h["value"].clone()).unwrap_or(Value::Null);
                        if &got != want {
                            return Err(format!(
                                "{path}.headers.{name}: expected {want}, got {got}"
                            ));
                        }
                    }
                } else {
                    subset(ev, av, &format!("{path}.{k}"))?;
                }
            }
            Ok(())
        }
        (Value::Null, Value::Null) => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

pub fn response(spec: &Value) -> HttpResponse {
    let mut headers: Vec<Header> = spec["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| Header::new(k, v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    let body: Vec<u8> = if let Some(j) = spec.get("json") {
        if spec.get("headers").is_none() {
            headers.push(Header::new("content-type", "application/json"));
        }
        j.to_string().into_bytes()
    } else if let Some(t) = spec.get("text") {
        t.as_str().unwrap().as_bytes().to_vec()
    } else if let Some(b) = spec.get("base64") {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b.as_str().unwrap())
            .unwrap()
    } else if let Some(r) = spec.get("repeat") {
        r["text"]
            .as_str()
            .unwrap()
            .repeat(r["times"].as_u64().unwrap() as usize)
            .into_bytes()
    } else {
        Vec::new()
    };
    HttpResponse {
        status: spec["status"].as_u64().unwrap() as u16,
        headers,
        body,
    }
}
