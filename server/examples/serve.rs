//! A local server for manual testing and the interop tests.
//!
//! `cargo run -p deviceflow-server --example serve [-- PORT [INTERVAL_SECS]]`
//! Prints the issuer on one stdout line, then serves until stdin closes.

use std::io::Read;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut config = deviceflow_server::ServerConfig::on_port(port);
    if let Some(interval) = args.next().and_then(|i| i.parse().ok()) {
        config.interval_secs = interval;
    }
    if let Ok(path) = std::env::var("DEVICEFLOW_DB") {
        config.database = Some(path.into());
    }
    let server = deviceflow_server::spawn(config)?;
    println!("{}", server.issuer());
    // Wait for EOF: the parent closed the pipe or died.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.shutdown();
    Ok(())
}
