//! The checked conversion of the file's schema into a [`ServerConfig`]. Keys the file leaves
//! out keep [`ServerConfig::default`]'s values (and `listen` is [`super::DEFAULT_LISTEN`]).

use std::net::SocketAddr;
use std::time::Duration;

use super::check::{check_issuer, parse_cidr};
use super::schema::{Connections, EntryLimits, FileConfig, IssuanceLimits, Limits, Polling, Tls};
use super::{clients, sign_in, store, ConfigError, Ctx, DEFAULT_LISTEN};
use crate::http::{ServerConfig, TlsFiles};

const SEC: u64 = 1_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

pub(super) fn build(file: FileConfig, cx: &Ctx) -> Result<ServerConfig, ConfigError> {
    let mut config = ServerConfig {
        addr: DEFAULT_LISTEN,
        ..ServerConfig::default()
    };
    if let Some(listen) = &file.listen {
        config.addr = listen.get_ref().parse::<SocketAddr>().map_err(|_| {
            cx.invalid(
                "listen",
                listen.span(),
                format!(
                    "{:?} is not an address and port (e.g. \"127.0.0.1:8628\", \"[::]:443\")",
                    listen.get_ref()
                ),
            )
        })?;
    }
    if let Some(issuer) = &file.issuer {
        check_issuer(issuer.get_ref()).map_err(|why| {
            cx.invalid(
                "issuer",
                issuer.span(),
                format!("{:?} {why}", issuer.get_ref()),
            )
        })?;
        config.issuer = Some(issuer.get_ref().clone());
    }
    if let Some(tls) = &file.tls {
        config.tls = Some(tls_files(tls, cx)?);
    }
    for (i, cidr) in file.trusted_proxies.iter().flatten().enumerate() {
        let net = parse_cidr(cidr.get_ref()).ok_or_else(|| {
            cx.invalid(
                format!("trusted_proxies[{i}]"),
                cidr.span(),
                format!(
                    "{:?} is not a CIDR (e.g. \"10.0.0.0/8\") or an IP address",
                    cidr.get_ref()
                ),
            )
        })?;
        config.trusted_proxies.push(net);
    }
    config.sign_in = sign_in::build(&file.sign_in, cx)?;
    if let Some(list) = &file.clients {
        config.clients = clients::build(list, cx)?;
        config.allowed_origins = clients::origins(list, cx)?;
    }
    if let Some(polling) = &file.polling {
        apply_polling(polling, cx, &mut config)?;
    }
    if let Some(limits) = &file.limits {
        apply_limits(limits, cx, &mut config)?;
    }
    if let Some(store) = &file.store {
        store::apply(store, cx, &mut config)?;
    }
    if let Some(metrics) = &file.metrics {
        config.metrics_addr = Some(metrics.get_ref().parse().map_err(|_| {
            cx.invalid(
                "metrics",
                metrics.span(),
                format!(
                    "{:?} is not an address and port (e.g. \"127.0.0.1:9100\")",
                    metrics.get_ref()
                ),
            )
        })?);
    }
    if let Some(grace) = &file.redeem_grace {
        config.redeem_grace_secs = cx.secs("redeem_grace", grace, 0, 10 * MIN)?;
    }
    Ok(config)
}

/// Both files, each readable now (so a typo fails at start, not at the first connection).
fn tls_files(tls: &Tls, cx: &Ctx) -> Result<TlsFiles, ConfigError> {
    let readable = |key: &str, value: &toml::Spanned<String>| {
        let path = cx.path(value.get_ref());
        match std::fs::File::open(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(cx.invalid(
                key,
                value.span(),
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    };
    Ok(TlsFiles {
        cert: readable("tls.cert", &tls.cert)?,
        key: readable("tls.key", &tls.key)?,
    })
}

fn apply_polling(p: &Polling, cx: &Ctx, config: &mut ServerConfig) -> Result<(), ConfigError> {
    if let Some(v) = &p.interval {
        config.interval_secs = cx.secs("polling.interval", v, SEC, 5 * MIN)?;
    }
    if let Some(v) = &p.device_code_ttl {
        config.device_code_ttl_secs = cx.secs("polling.device_code_ttl", v, 10 * SEC, HOUR)?;
    }
    if config.device_code_ttl_secs <= config.interval_secs {
        let (key, span) = match (&p.device_code_ttl, &p.interval) {
            (Some(v), _) => ("polling.device_code_ttl", v.span()),
            (None, Some(v)) => ("polling.interval", v.span()),
            (None, None) => unreachable!("the defaults are 600 s and 5 s"),
        };
        return Err(cx.invalid(
            key,
            span,
            "device codes must live longer than the polling interval",
        ));
    }
    Ok(())
}

fn apply_limits(l: &Limits, cx: &Ctx, config: &mut ServerConfig) -> Result<(), ConfigError> {
    if let Some(e) = &l.entry {
        apply_entry(e, cx, config)?;
    }
    if let Some(i) = &l.issuance {
        apply_issuance(i, cx, config)?;
    }
    if let Some(c) = &l.connections {
        apply_connections(c, cx, config)?;
    }
    if let Some(v) = &l.max_body_bytes {
        config.max_body_bytes = cx.count("limits.max_body_bytes", v, 1024, 16 << 20)? as usize;
    }
    Ok(())
}

fn apply_entry(e: &EntryLimits, cx: &Ctx, config: &mut ServerConfig) -> Result<(), ConfigError> {
    let limits = &mut config.limits;
    if let Some(v) = &e.window {
        limits.window_ms = cx.dur("limits.entry.window", v, MIN, DAY)? as i64;
    }
    if let Some(v) = &e.failures_per_session {
        limits.failures_per_session = cx.count("limits.entry.failures_per_session", v, 1, 1_000)?;
    }
    if let Some(v) = &e.failures_per_source {
        limits.failures_per_source =
            cx.count("limits.entry.failures_per_source", v, 1, 1_000_000)?;
    }
    if let Some(v) = &e.failures_global {
        limits.failures_global = cx.count("limits.entry.failures_global", v, 1, 1_000_000_000)?;
    }
    if let Some(v) = &e.entries_per_code {
        limits.entries_per_code = cx.count("limits.entry.entries_per_code", v, 1, 100)?;
    }
    if let Some(v) = &e.paced_delay {
        limits.paced_entry_ms = cx.dur("limits.entry.paced_delay", v, 10, MIN)?;
    }
    if let Some(v) = &e.breaker_delay {
        limits.breaker_entry_ms = cx.dur("limits.entry.breaker_delay", v, 10, MIN)?;
    }
    Ok(())
}

fn apply_issuance(
    i: &IssuanceLimits,
    cx: &Ctx,
    config: &mut ServerConfig,
) -> Result<(), ConfigError> {
    let issuance = &mut config.issuance;
    if let Some(v) = &i.window {
        issuance.window_ms = cx.dur("limits.issuance.window", v, SEC, HOUR)? as i64;
    }
    if let Some(v) = &i.per_source {
        issuance.per_source = cx.count("limits.issuance.per_source", v, 1, 1_000_000_000)?;
    }
    if let Some(v) = &i.per_client {
        issuance.per_client = cx.count("limits.issuance.per_client", v, 1, 1_000_000_000)?;
    }
    Ok(())
}

fn apply_connections(
    c: &Connections,
    cx: &Ctx,
    config: &mut ServerConfig,
) -> Result<(), ConfigError> {
    let conn = &mut config.connections;
    if let Some(v) = &c.max {
        conn.max_connections = cx.count("limits.connections.max", v, 1, 1_000_000)? as usize;
    }
    if let Some(v) = &c.per_source {
        conn.max_connections_per_source =
            cx.count("limits.connections.per_source", v, 1, 1_000_000)? as usize;
    }
    let timeout =
        |key: &str, v: &toml::Spanned<_>, max| cx.dur(key, v, SEC, max).map(Duration::from_millis);
    if let Some(v) = &c.header_timeout {
        conn.header_read_timeout = timeout("limits.connections.header_timeout", v, 10 * MIN)?;
    }
    if let Some(v) = &c.idle_timeout {
        conn.idle_timeout = timeout("limits.connections.idle_timeout", v, HOUR)?;
    }
    if let Some(v) = &c.request_timeout {
        conn.request_timeout = timeout("limits.connections.request_timeout", v, HOUR)?;
    }
    Ok(())
}
