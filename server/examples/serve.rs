//! A local server for manual testing and the interop tests.
//!
//! `cargo run -p deviceflow-server --example serve [-- PORT [INTERVAL_SECS]]`
//! Prints the issuer on one stdout line, then serves until stdin closes.
//! `DEVICEFLOW_DB=path`: a SQLite file (`DEVICEFLOW_DB=postgres://…`: a PostgreSQL database).
//! `DEVICEFLOW_UNLIMITED_ISSUANCE=1`: no per-source or per-client issuance limit (for load
//! tests, which issue thousands of codes from one address).

use std::io::Read;

/// As in the CLI's `deviceflow serve` (bench/server/README.md measures with it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut config = deviceflow_server::ServerConfig::on_port(port);
    if let Some(interval) = args.next().and_then(|i| i.parse().ok()) {
        config.interval_secs = interval;
    }
    if let Ok(db) = std::env::var("DEVICEFLOW_DB") {
        if deviceflow_server::store::postgres::is_postgres_url(&db) {
            config.database_url = Some(db);
        } else {
            config.database = Some(db.into());
        }
    }
    if std::env::var_os("DEVICEFLOW_UNLIMITED_ISSUANCE").is_some() {
        config.issuance.per_source = u32::MAX;
        config.issuance.per_client = u32::MAX;
    }
    let server = deviceflow_server::spawn(config)?;
    println!("{}", server.issuer());
    // Wait for EOF: the parent closed the pipe or died.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.shutdown();
    Ok(())
}
