//! (g) The crate's own JSON reader and writer (`deviceflow::json`) against
//! serde_json: same documents accepted, same values read, and what the writer
//! writes reads back as the same value.

use deviceflow::json::{parse, ToJson, MAX_DEPTH};

/// Nesting depth of a document (brackets outside strings), to skip inputs past
/// our limit (64) that serde_json (128) still takes.
fn depth(text: &str) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') => in_str = false,
            (false, _, b'"') => in_str = true,
            (false, _, b'[' | b'{') => {
                d += 1;
                max = max.max(d)
            }
            (false, _, b']' | b'}') => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Equal, except that floats may differ in the last bit: serde_json's default
/// float parsing is not always correctly rounded (its `float_roundtrip` is off).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || ((x - y) / x).abs() < 1e-15
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(o), Ok(t)) => {
            let o_value = serde_json::to_value(o).unwrap();
            assert!(same(&o_value, t), "different values for {text:?}: {o_value} vs {t}");
            let written = o.to_json();
            assert_eq!(parse(&written).as_ref(), Ok(o), "writer output reads back differently");
            let reread = serde_json::from_str::<serde_json::Value>(&written).unwrap();
            assert!(same(&reread, t), "serde_json reads our output differently: {written}");
        }
        (Err(_), Err(_)) => {}
        // serde_json refuses numbers it cannot hold as f64 (1e400); we keep their text.
        (Ok(_), Err(e)) => assert!(
            e.to_string().contains("number out of range"),
            "we accepted what serde_json refused ({e}): {text:?}"
        ),
        (Err(e), Ok(_)) => assert!(
            depth(text) > MAX_DEPTH,
            "we refused ({e}) what serde_json accepted: {text:?}"
        ),
    }
}
