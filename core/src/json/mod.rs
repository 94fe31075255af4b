//! JSON (RFC 8259) as the machine needs it: a strict reader for server bodies and
//! a writer for the crate's values, without serde's generic machinery.
//!
//! Why not `serde_json` here: the WebAssembly build links every generic parser
//! and serializer it instantiates, and those were most of the `.wasm`. This
//! module is one small, non-generic copy. The serde impls (`serde_impl.rs`)
//! remain for Rust users and the other bindings, and the vector runner checks
//! that both encodings agree on every action.
//!
//! Numbers keep the text the server sent, so unknown token fields (`extra`)
//! round-trip exactly, even integers beyond 2^53.

pub mod config;
mod parse;
mod serde_impl;
mod write;

pub use parse::{parse, MAX_DEPTH};
pub use write::{write_str, Fields, ToJson};

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

/// A JSON number, as written (validated against the RFC 8259 grammar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

/// A JSON object in document order. Lookups see the last of duplicate keys, as
/// most parsers do.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Object(Vec<(String, Value)>);

impl Number {
    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A non-negative integer, if the text is one that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// A whole number from an unsigned integer.
    pub fn from_u64(n: u64) -> Number {
        Number(n.to_string())
    }

    /// The number from its text, if the text is a JSON number.
    pub fn from_text(text: &str) -> Option<Number> {
        parse::is_number(text).then(|| Number(text.to_owned()))
    }

    /// The value × 1000, rounded, for a number of seconds (`1.5` → 1500). `None`
    /// if negative or above 10^12 s. Plain decimal arithmetic: no float parsing.
    pub fn seconds_ms(&self) -> Option<u64> {
        seconds_ms(&self.0)
    }
}

/// `text` (a JSON number: `-?int(.frac)?(e[+-]?exp)?`) × 1000, rounded half up.
pub(crate) fn seconds_ms(text: &str) -> Option<u64> {
    const MAX_MS: u64 = 1_000_000_000_000_000; // 10^12 s
    if !parse::is_number(text) {
        return None;
    }
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = || int.bytes().chain(frac.bytes()).filter(u8::is_ascii_digit);
    if int.starts_with('-') {
        // Only zeros ("-0", "-0.0e5") are not negative.
        return digits().all(|b| b == b'0').then_some(0);
    }
    // The value in ms is digits × 10^shift.
    let shift = i64::from(exp) + 3 - frac.len() as i64;
    // How many leading digits are whole milliseconds (negative: none, and more zeros).
    let whole = digits().count() as i64 + shift.min(0);
    let mut value: u64 = 0;
    for d in digits().take(whole.max(0) as usize) {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    for _ in 0..shift.max(0) {
        if value == 0 {
            break;
        }
        value = value.checked_mul(10)?;
        if value > MAX_MS {
            return None;
        }
    }
    let next = if whole >= 0 {
        digits().nth(whole as usize)
    } else {
        None
    };
    if next.is_some_and(|d| d >= b'5') {
        value += 1;
    }
    (value <= MAX_MS).then_some(value)
}

impl Object {
    pub fn new() -> Self {
        Object(Vec::new())
    }

    /// The value of `key` (the last one when the key repeats).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing every earlier value of it.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        self.0.retain(|(k, _)| *k != key);
        self.0.push((key, value));
    }

    /// Removes every entry for `key`, returning the last value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut last = None;
        self.0.retain_mut(|(k, v)| {
            if k == key {
                last = Some(std::mem::replace(v, Value::Null));
                false
            } else {
                true
            }
        });
        last
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in document order (duplicates included; see [`Object::get`]).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps only the last entry of each key (what lookups see).
    pub(crate) fn dedup(mut self) -> Self {
        let mut i = 0;
        while i < self.0.len() {
            let later = self.0[i + 1..].iter().any(|(k, _)| *k == self.0[i].0);
            if later {
                self.0.remove(i);
            } else {
                i += 1;
            }
        }
        self
    }
}

/// `object["key"]`: the value, or `Null` when absent (as with `serde_json`).
impl std::ops::Index<&str> for Object {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        const NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl FromIterator<(String, Value)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Object(iter.into_iter().collect()).dedup()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for Object {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    /// `"a string"`, `"a number"`, ... for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(Number::from_u64(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_to_ms() {
        let ms = |t: &str| seconds_ms(t);
        assert_eq!(ms("5"), Some(5_000));
        assert_eq!(ms("0"), Some(0));
        assert_eq!(ms("-0"), Some(0));
        assert_eq!(ms("1.5"), Some(1_500));
        assert_eq!(ms("0.001"), Some(1));
        assert_eq!(ms("0.0004"), Some(0));
        assert_eq!(ms("0.0005"), Some(1));
        assert_eq!(ms("5e0"), Some(5_000));
        assert_eq!(ms("5E1"), Some(50_000));
        assert_eq!(ms("1.5e-3"), Some(2));
        assert_eq!(ms("2e-4"), Some(0));
        assert_eq!(ms("1e12"), Some(1_000_000_000_000_000));
        assert_eq!(ms("1.1e12"), None);
        assert_eq!(ms("1e400"), None);
        assert_eq!(ms("1e-400"), Some(0));
        assert_eq!(ms("5e-400"), Some(0));
        assert_eq!(ms("0.5e-3"), Some(1));
        assert_eq!(ms("4.9999"), Some(5_000));
        assert_eq!(ms("0.00049"), Some(0));
        assert_eq!(ms("-1"), None);
        assert_eq!(ms("-0.5"), None);
        assert_eq!(ms("99999999999999999999999"), None);
        assert_eq!(ms("1800.0000000000000000000001"), Some(1_800_000));
        assert_eq!(ms("abc"), None);
        assert_eq!(ms("05"), None);
        assert_eq!(ms(" 5"), None);
    }

    #[test]
    fn objects_keep_order_and_last_duplicate_wins() {
        let Value::Object(o) = parse(r#"{"b":1,"a":2,"b":3}"#).unwrap() else {
            panic!()
        };
        assert_eq!(o.get("b").and_then(Value::as_u64), Some(3));
        let mut o = o.dedup();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(o.remove("a").and_then(|v| v.as_u64()), Some(2));
        o.insert("c", Value::Null);
        assert_eq!(o.keys().collect::<Vec<_>>(), ["b", "c"]);
    }
}
