//! The latest DPoP nonce per server origin (RFC 9449 §8): what [`Dpop`](crate::Dpop) puts in
//! each proof's `nonce` claim and hands to later operations.
//!
//! A flow talks to one or two origins, so this is a list kept sorted by origin rather than a
//! `BTreeMap`, whose node code was 5.8 KB of the browser module (`bindings/wasm/SIZE.md`).
//! Serde reads and writes it as the same `{origin: nonce}` object a map gives.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// `origin → nonce`, iterated in origin order; `https://host[:port]` keys, lower-cased.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct Nonces(Vec<(String, String)>);

impl Nonces {
    pub fn new() -> Self {
        Nonces(Vec::new())
    }

    /// The nonce last recorded for this origin.
    pub fn get(&self, origin: &str) -> Option<&str> {
        let i = self.position(origin).ok()?;
        Some(&self.0[i].1)
    }

    /// Records `nonce` for `origin`, replacing the one before.
    pub fn insert(&mut self, origin: String, nonce: String) {
        match self.position(&origin) {
            Ok(i) => self.0[i].1 = nonce,
            Err(i) => self.0.insert(i, (origin, nonce)),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(origin, nonce)` pairs in origin order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(o, n)| (o.as_str(), n.as_str()))
    }

    fn position(&self, origin: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(o, _)| o.as_str().cmp(origin))
    }
}

impl FromIterator<(String, String)> for Nonces {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut nonces = Nonces::new();
        for (origin, nonce) in pairs {
            nonces.insert(origin, nonce);
        }
        nonces
    }
}

impl IntoIterator for Nonces {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<BTreeMap<String, String>> for Nonces {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already in order and without duplicates.
        Nonces(map.into_iter().collect())
    }
}

impl From<Nonces> for BTreeMap<String, String> {
    fn from(nonces: Nonces) -> Self {
        nonces.0.into_iter().collect()
    }
}

/// Nonces are not secrets (every response carries them in clear), so they print.
impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of inserts leaves the same contents, in the same order, as a
        /// `BTreeMap` given the same inserts.
        #[test]
        fn behaves_as_a_btreemap(ops in proptest::collection::vec(("[a-d]{1,2}", "[0-9]{1,2}"), 0..24)) {
            let (mut nonces, mut map) = (Nonces::new(), BTreeMap::new());
            for (origin, nonce) in ops {
                nonces.insert(origin.clone(), nonce.clone());
                map.insert(origin, nonce);
            }
            for origin in ["a", "b", "ab", "dd", "e"] {
                prop_assert_eq!(nonces.get(origin), map.get(origin).map(String::as_str));
            }
            prop_assert_eq!(nonces.len(), map.len());
            prop_assert_eq!(BTreeMap::from(nonces.clone()), map.clone());
            prop_assert_eq!(Nonces::from(map.clone()), nonces.clone());
            prop_assert_eq!(nonces.into_iter().collect::<Vec<_>>(), map.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn serde_form_is_an_object() {
        let nonces: Nonces = [
            ("https://b".to_owned(), "2".to_owned()),
            ("https://a".to_owned(), "1".to_owned()),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_string(&nonces).unwrap();
        assert_eq!(json, r#"{"https://a":"1","https://b":"2"}"#);
        assert_eq!(serde_json::from_str::<Nonces>(&json).unwrap(), nonces);
        assert_eq!(
            format!("{nonces:?}"),
            r#"{"https://a": "1", "https://b": "2"}"#
        );
    }
}
