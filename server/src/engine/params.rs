//! Form parameters (`application/x-www-form-urlencoded`, RFC 6749 §3.2).

use std::collections::HashSet;

/// Parsed form parameters. Each name appears at most once (RFC 6749 §3.1, §3.2).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// Names only: values may be codes, tokens or secrets.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Params {
    /// Parses a form body. A repeated parameter is an error (`invalid_request`). Linear in the
    /// body size: names are checked against a hash set (SipHash, randomly keyed), not each other.
    pub fn parse(body: &[u8]) -> Result<Params, super::OAuthError> {
        let out: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let mut seen = HashSet::with_capacity(out.len());
        if let Some((k, _)) = out.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(super::OAuthError::invalid_request(format!(
                "parameter {k} repeated"
            )));
        }
        Ok(Params(out))
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Params {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, super::OAuthError> {
        self.get(name)
            .ok_or_else(|| super::OAuthError::invalid_request(format!("{name} is required")))
    }
}
