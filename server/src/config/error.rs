//! What is wrong with a configuration file: which key, where (line and column), and why.

use std::fmt;
use std::io;
use std::ops::Range;

/// The class of a [`ConfigError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Read,
    /// The text is not TOML.
    Syntax,
    /// A key the schema does not have (a typo, or a key from another version).
    UnknownKey,
    /// A value of the wrong type or form, or a required key missing.
    WrongType,
    /// A well-formed value that is not acceptable: an http issuer on a public host, a bad
    /// CIDR, an unset environment variable, a duplicate client id, a lifetime out of bounds.
    Invalid,
}

/// A configuration error. Its `Display` is one line,
/// `FILE:LINE:COLUMN: KEY: MESSAGE` (e.g.
/// `deviceflow.toml:14:14: clients[1].secret_env: environment variable `TV_SECRET` is not set`).
/// It never carries a secret: values of secret-bearing keys are never quoted.
#[derive(Debug)]
pub struct ConfigError {
    kind: ErrorKind,
    origin: String,
    key: String,
    at: Option<(usize, usize)>,
    message: String,
    source: Option<io::Error>,
}

impl ConfigError {
    pub(crate) fn read(origin: &str, e: io::Error) -> Self {
        ConfigError {
            kind: ErrorKind::Read,
            origin: origin.to_owned(),
            key: String::new(),
            at: None,
            message: format!("cannot read the configuration file: {e}"),
            source: Some(e),
        }
    }

    /// An error at `span` (byte offsets into `text`).
    pub(crate) fn at(
        kind: ErrorKind,
        origin: &str,
        text: &str,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            origin: origin.to_owned(),
            key: key.into(),
            at: span.map(|s| line_column(text, s.start)),
            message: message.into(),
            source: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file (as given to [`super::load`] or [`super::from_str`]).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The key path, e.g. `clients[1].secret_env`, `limits.connections.max`; empty when the
    /// error is about the whole file.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// 1-based line of the key or value at fault.
    pub fn line(&self) -> Option<usize> {
        self.at.map(|(line, _)| line)
    }

    /// 1-based column (in characters) of the key or value at fault.
    pub fn column(&self) -> Option<usize> {
        self.at.map(|(_, column)| column)
    }

    /// Why, without the file, key and position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some((line, column)) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nné = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` on line 2 comes after "né " (3 characters, 4 bytes).
        assert_eq!(line_column(text, text.find("= 2").unwrap()), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
