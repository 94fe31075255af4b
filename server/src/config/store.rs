//! `[store]`: a SQLite file (`path`), or a PostgreSQL database shared by several instances
//! (`url`, its password best kept out of the file with `password_env`).

use toml::Spanned;

use super::check::is_env_name;
use super::schema::Store;
use super::{ConfigError, Ctx};
use crate::http::ServerConfig;
use crate::store::postgres::{is_postgres_url, redact_url, with_password};

pub(super) fn apply(store: &Store, cx: &Ctx, config: &mut ServerConfig) -> Result<(), ConfigError> {
    if let (Some(var), None) = (&store.password_env, &store.url) {
        return Err(cx.invalid(
            "store.password_env",
            var.span(),
            "a password is only for a database `url`",
        ));
    }
    match (&store.path, &store.url) {
        (Some(_), Some(url)) => Err(cx.invalid(
            "store.url",
            url.span(),
            "give either `path` (a SQLite file) or `url` (PostgreSQL), not both",
        )),
        (None, Some(url)) => {
            config.database = None;
            config.database_url = Some(postgres_url(url, store.password_env.as_ref(), cx)?);
            Ok(())
        }
        (Some(path), None) => {
            config.database = sqlite_path(path, cx)?;
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

/// A SQLite file (its directory must exist); relative to the configuration file.
fn sqlite_path(
    path: &Spanned<String>,
    cx: &Ctx,
) -> Result<Option<std::path::PathBuf>, ConfigError> {
    if path.get_ref().is_empty() {
        return Err(cx.invalid(
            "store.path",
            path.span(),
            "empty path (leave `path` out for an in-memory database)",
        ));
    }
    let file = cx.path(path.get_ref());
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|d| !d.is_dir()) {
        return Err(cx.invalid(
            "store.path",
            path.span(),
            format!("directory {} does not exist", dir.display()),
        ));
    }
    Ok(Some(file))
}

/// A `postgres://` URL the driver can read (checked now, connected to at start), with the
/// password from `password_env` added. Messages show the URL without its password.
fn postgres_url(
    url: &Spanned<String>,
    password_env: Option<&Spanned<String>>,
    cx: &Ctx,
) -> Result<String, ConfigError> {
    let text = url.get_ref();
    let bad = |why: String| cx.invalid("store.url", url.span(), why);
    if !is_postgres_url(text) {
        return Err(bad(format!(
            "{:?} is not a PostgreSQL URL (postgres://user@host:port/database); a SQLite file \
             goes in `path`",
            redact_url(text)
        )));
    }
    let parsed: tokio_postgres::Config = text
        .parse()
        .map_err(|e| bad(format!("{}: {e}", redact_url(text))))?;
    let Some(var) = password_env else {
        return Ok(text.clone());
    };
    let name = var.get_ref();
    let bad_var = |why: String| cx.invalid("store.password_env", var.span(), why);
    if !is_env_name(name) {
        // Not echoed: it may be the password itself, pasted in the wrong place.
        return Err(bad_var(
            "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*): give the variable's \
             name, never the password"
                .into(),
        ));
    }
    if parsed.get_password().is_some() {
        return Err(bad_var(
            "the URL has a password already: keep it in the variable only".into(),
        ));
    }
    match (cx.env)(name) {
        None => Err(bad_var(format!("environment variable {name} is not set"))),
        Some(v) if v.is_empty() => Err(bad_var(format!("environment variable {name} is empty"))),
        Some(password) => Ok(with_password(text, &password)),
    }
}
