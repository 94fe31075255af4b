//! Form parameters (`application/x-www-form-urlencoded`, RFC 6749 §3.2).

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
    /// Parses a form body. A repeated parameter is an error (`invalid_request`).
    pub fn parse(body: &[u8]) -> Result<Params, super::OAuthError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if out.iter().any(|(name, _)| *name == k) {
                return Err(super::OAuthError::invalid_request(format!(
                    "parameter {k} repeated"
                )));
            }
            out.push((k.into_owned(), v.into_owned()));
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
