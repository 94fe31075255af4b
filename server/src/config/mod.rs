//! The configuration file of `deviceflow serve --config FILE` (TOML), read into a
//! [`ServerConfig`]. The keys are documented in the server README ("Configuration file") and,
//! with their defaults, in `server/deviceflow.example.toml`.
//!
//! ```no_run
//! let config = deviceflow_server::config::load("deviceflow.toml")?;
//! let server = deviceflow_server::spawn(config)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading happens in two steps: serde reads the text into the file's schema (every table
//! refuses unknown keys; a wrong type or a missing key is reported with its key path and
//! position), then every value is checked and converted (addresses, CIDRs, the issuer, TLS
//! files, client secrets from the environment, scopes, grants, lifetimes and limits within
//! bounds). The first problem found is returned as a [`ConfigError`] naming the key path
//! (`clients[1].secret_env`) and its line and column.
//!
//! `[sign_in]` is the one required table: a server never believes a typed name (`"dev"`)
//! without being told to.
//!
//! Secrets are never in the file: a confidential client's secret is either read from an
//! environment variable named in the file (`secret_env`) or given as its SHA-256
//! (`secret_sha256`). Only the SHA-256 is kept.

mod build;
mod check;
mod clients;
mod duration;
mod error;
mod schema;
mod sign_in;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

pub use check::{check_issuer, parse_cidr};
pub use error::{ConfigError, ErrorKind};

use crate::http::ServerConfig;
use duration::Dur;
use schema::FileConfig;

/// Where `deviceflow serve` listens when neither the file nor a flag says: `127.0.0.1:8628`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8628);

/// Reads and checks the file at `path`. Relative paths in it (TLS files, the database) are
/// taken relative to the file's directory; secrets named by `secret_env` come from this
/// process's environment.
pub fn load(path: impl AsRef<Path>) -> Result<ServerConfig, ConfigError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::read(&path.display().to_string(), e))?;
    from_str(&text, path)
}

/// Reads and checks `text`, the contents of the file `origin`: `origin` names the file in
/// errors, and relative paths in the file are taken relative to its directory. Environment
/// variables are read from this process's environment.
pub fn from_str(text: &str, origin: &Path) -> Result<ServerConfig, ConfigError> {
    from_str_with_env(text, origin, &|name| std::env::var(name).ok())
}

/// [`from_str`] with the environment given as a function (name → value), for tests and for
/// hosts that keep secrets elsewhere.
pub fn from_str_with_env(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerConfig, ConfigError> {
    let name = origin.display().to_string();
    let file = parse(text, &name)?;
    let cx = Ctx {
        origin: &name,
        text,
        base: origin.parent().unwrap_or(Path::new("")),
        env,
    };
    build::build(file, &cx)
}

/// serde's half: TOML syntax, unknown keys, types and required keys.
fn parse(text: &str, origin: &str) -> Result<FileConfig, ConfigError> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| ConfigError::at(ErrorKind::Syntax, origin, text, "", e.span(), e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = key_path(e.path());
        let inner = e.into_inner();
        let message = inner.message();
        let (kind, message) = if let Some(rest) = message.strip_prefix("unknown field") {
            let hint = if key.ends_with("secret") {
                " (a secret is never written in the file: name the environment variable that \
                 holds it, `secret_env` or `client_secret_env`, or give a client's SHA-256 in \
                 `secret_sha256`)"
            } else {
                ""
            };
            (ErrorKind::UnknownKey, format!("unknown key{rest}{hint}"))
        } else if message == "missing field `sign_in`" {
            let why = "missing [sign_in]: say how people sign in on the verification page \
                       (method = \"upstream\", \"header\", or \"dev\" for demos and tests)";
            (ErrorKind::WrongType, why.to_owned())
        } else if let Some(rest) = message.strip_prefix("missing field") {
            (ErrorKind::WrongType, format!("missing key{rest}"))
        } else {
            (ErrorKind::WrongType, message.to_owned())
        };
        ConfigError::at(kind, origin, text, key, inner.span(), message)
    })
}

/// `clients[1].secret_env`: the path serde took, without the inner keys of `Spanned`.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with("$__serde_spanned") => {}
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// What the checks need: where the text came from, and the environment.
pub(crate) struct Ctx<'a> {
    origin: &'a str,
    text: &'a str,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Ctx<'_> {
    /// An [`ErrorKind::Invalid`] error at `span`.
    fn invalid(
        &self,
        key: impl Into<String>,
        span: Range<usize>,
        why: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(
            ErrorKind::Invalid,
            self.origin,
            self.text,
            key,
            Some(span),
            why,
        )
    }

    /// A path from the file, relative to the file's directory.
    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_relative() {
            self.base.join(p)
        } else {
            p.to_owned()
        }
    }

    /// A duration within `[min, max]` (ms), in ms.
    fn dur(&self, key: &str, v: &Spanned<Dur>, min: u64, max: u64) -> Result<u64, ConfigError> {
        let d = *v.get_ref();
        if d.ms < min || d.ms > max {
            let (min, max) = (Dur { ms: min }, Dur { ms: max });
            let bounds = if min.ms == 0 {
                format!("at most {max}")
            } else {
                format!("between {min} and {max}")
            };
            return Err(self.invalid(
                key,
                v.span(),
                format!("{d} is out of bounds: must be {bounds}"),
            ));
        }
        Ok(d.ms)
    }

    /// A duration within `[min, max]` (ms) that is a whole number of seconds, in seconds.
    fn secs(&self, key: &str, v: &Spanned<Dur>, min: u64, max: u64) -> Result<u64, ConfigError> {
        let ms = self.dur(key, v, min, max)?;
        Dur { ms }
            .whole_secs()
            .ok_or_else(|| self.invalid(key, v.span(), "must be a whole number of seconds"))
    }

    /// A count within `[min, max]`.
    fn count<T: Copy + Into<u64>>(
        &self,
        key: &str,
        v: &Spanned<T>,
        min: u64,
        max: u64,
    ) -> Result<T, ConfigError> {
        let n: u64 = (*v.get_ref()).into();
        if n < min || n > max {
            return Err(self.invalid(
                key,
                v.span(),
                format!("{n} is out of bounds: must be between {min} and {max}"),
            ));
        }
        Ok(*v.get_ref())
    }
}
