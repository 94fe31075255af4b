//! Writes the crate's values as the JSON documented in `tests/vectors/README.md`,
//! the same text shape as their serde impls (the vector runner checks it).

use super::{Object, Value};
use crate::action::{Action, Prompt};
use crate::discovery::ServerMetadata;
use crate::error::FlowError;
use crate::http::{Header, HttpRequest, Timestamp};
use crate::nonces::Nonces;
use crate::revocation::Revoked;
use crate::tokens::TokenSet;

/// A value that writes itself as JSON. Secrets are written out: this is the
/// explicit serialisation, as with serde.
pub trait ToJson {
    /// Writes the value.
    fn write_json(&self, out: &mut String);

    /// The JSON text.
    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

/// Writes `s` as a JSON string: `"`, `\` and control characters escaped.
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `{"k": v, ...}` field by field; `close` adds the `}`.
pub struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Fields<'a> {
    pub fn open(out: &'a mut String) -> Self {
        out.push('{');
        Fields { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, v: &str) -> &mut Self {
        write_str(self.key(key), v);
        self
    }

    pub fn opt_str(&mut self, key: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    pub fn u64(&mut self, key: &str, v: u64) -> &mut Self {
        let text = v.to_string();
        self.raw(key, &text)
    }

    pub fn opt_u64(&mut self, key: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.u64(key, v),
            None => self.raw(key, "null"),
        }
    }

    pub fn strs(&mut self, key: &str, items: &[String]) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, s);
        }
        out.push(']');
        self
    }

    pub fn value(&mut self, key: &str, v: &(impl ToJson + ?Sized)) -> &mut Self {
        v.write_json(self.key(key));
        self
    }

    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub fn close(&mut self) {
        self.out.push('}');
    }
}

/// The fields of a struct, for writing it inside another object (serde's
/// internally tagged newtypes put them beside `type`).
pub(crate) trait JsonFields {
    fn write_fields(&self, f: &mut Fields<'_>);
}

impl<T: JsonFields> ToJson for T {
    fn write_json(&self, out: &mut String) {
        let mut f = Fields::open(out);
        self.write_fields(&mut f);
        f.close();
    }
}

impl ToJson for Value {
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n.as_str()),
            Value::String(s) => write_str(out, s),
            Value::Array(items) => items.write_json(out),
            Value::Object(o) => o.write_json(out),
        }
    }
}

/// `[a, b, ...]`.
impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write_json(out);
        }
        out.push(']');
    }
}

/// `{"key": "value", ...}` (DPoP nonces per origin).
impl ToJson for Nonces {
    fn write_json(&self, out: &mut String) {
        let mut f = Fields::open(out);
        for (k, v) in self.iter() {
            f.str(k, v);
        }
        f.close();
    }
}

impl ToJson for Object {
    fn write_json(&self, out: &mut String) {
        let mut f = Fields::open(out);
        for (k, v) in self.iter() {
            f.value(k, v);
        }
        f.close();
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl<T: JsonFields> ToJson for Action<T> {
    fn write_json(&self, out: &mut String) {
        let mut f = Fields::open(out);
        match self {
            Action::Send(req) => {
                f.str("type", "send");
                req.write_fields(&mut f);
            }
            Action::Sign { id, input } => {
                f.str("type", "sign").u64("id", id.0).str("input", input);
            }
            Action::Display(prompt) => {
                f.str("type", "display");
                prompt.write_fields(&mut f);
            }
            Action::Wait {
                until,
                delay_ms,
                reason,
            } => {
                f.str("type", "wait")
                    .u64("until", until.0)
                    .u64("delay_ms", *delay_ms)
                    .str("reason", reason.as_str());
            }
            Action::AwaitingResponse { id } => {
                f.str("type", "awaiting_response").u64("id", id.0);
            }
            Action::Done(result) => {
                f.str("type", "done");
                result.write_fields(&mut f);
            }
            Action::Failed(err) => {
                f.str("type", "failed");
                err.write_fields(&mut f);
            }
        }
        f.close();
    }
}

impl JsonFields for HttpRequest {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.u64("id", self.id.0)
            .str("method", self.method.as_str())
            .str("url", &self.url);
        f.value("headers", self.headers.as_slice())
            .str("body", self.body_text())
            .opt_u64("timeout_ms", self.timeout_ms);
    }
}

impl JsonFields for Header {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.str("name", &self.name).str("value", &self.value);
    }
}

impl JsonFields for Prompt {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.str("user_code", &self.user_code)
            .str("verification_uri", &self.verification_uri)
            .opt_str(
                "verification_uri_complete",
                self.verification_uri_complete.as_deref(),
            )
            .str("verification_host", &self.verification_host)
            .u64("expires_at", self.expires_at.0)
            .u64("expires_in", self.expires_in)
            .u64("interval", self.interval)
            .opt_str("message", self.message.as_deref());
    }
}

impl JsonFields for FlowError {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.str("code", self.code())
            .str("message", &self.message)
            .opt_str("error", self.error.as_deref())
            .opt_str("error_description", self.error_description.as_deref())
            .opt_str("error_uri", self.error_uri.as_deref())
            .opt_u64("status", self.status.map(u64::from));
    }
}

impl JsonFields for TokenSet {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.str("access_token", self.access_token.expose())
            .str("token_type", &self.token_type)
            .opt_u64("expires_at", self.expires_at.map(|t: Timestamp| t.0))
            .opt_u64("expires_in", self.expires_in)
            .opt_str(
                "refresh_token",
                self.refresh_token.as_ref().map(|s| s.expose()),
            )
            .opt_str("scope", self.scope.as_deref())
            .opt_str("id_token", self.id_token.as_ref().map(|s| s.expose()))
            .value("extra", &self.extra);
    }
}

impl JsonFields for ServerMetadata {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.str("issuer", &self.issuer)
            .opt_str(
                "device_authorization_endpoint",
                self.device_authorization_endpoint.as_deref(),
            )
            .opt_str("token_endpoint", self.token_endpoint.as_deref())
            .opt_str("revocation_endpoint", self.revocation_endpoint.as_deref())
            .strs(
                "token_endpoint_auth_methods_supported",
                &self.token_endpoint_auth_methods_supported,
            )
            .strs("grant_types_supported", &self.grant_types_supported)
            .strs("scopes_supported", &self.scopes_supported)
            .str("source", &self.source);
    }
}

impl JsonFields for Revoked {
    fn write_fields(&self, f: &mut Fields<'_>) {
        f.u64("status", u64::from(self.status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\n\u{1}\u{1b}é\u{7f}");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001\\u001bé\u{7f}\"");
        assert_eq!(
            super::super::parse(&out).unwrap().as_str(),
            Some("a\"b\\c\n\u{1}\u{1b}é\u{7f}")
        );
    }
}
