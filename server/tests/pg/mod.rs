//! A PostgreSQL database for a test. `DEVICEFLOW_TEST_POSTGRES` names a server
//! (`tests/with-postgres.sh` starts a throwaway one and sets it); each test gets a fresh schema
//! of its own there, so tests run in parallel, and the schema is dropped afterwards. Without the
//! variable a test says SKIPPED on the real stderr, and fails when CI=true.
//!
//! Shared by the server's test binaries (`mod pg;`, or `#[path]`) and the CLI's.
#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use deviceflow_server::store::PostgresStore;

pub const VAR: &str = "DEVICEFLOW_TEST_POSTGRES";

/// The server's URL, or `None` after saying SKIPPED (written past the test harness's capture,
/// so it is seen). With CI=true a test that cannot run fails instead.
pub fn server(what: &str) -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skipped(what);
            None
        }
    }
}

pub fn skipped(what: &str) {
    skip(&format!(
        "{what}: needs PostgreSQL; set {VAR}=postgres://… (tests/with-postgres.sh \
         starts a throwaway server and sets it)"
    ));
}

/// A test that cannot run says so, never passes quietly: `SKIPPED: <why>` goes to the real
/// stderr (written past the test harness's capture, so `cargo test` shows it and tests/run.sh
/// lists the rust suite as skipped), and with `CI=true` the test fails instead (in CI a missing
/// service is a broken setup, not a pass). Call it, then `return`.
pub fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("SKIPPED: {why} (CI=true: a test that cannot run fails)");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {why} (with CI=true this fails)"
    );
}

/// A fresh schema on the test server; dropped (with everything in it) when this is.
pub struct Schema {
    pub name: String,
    /// The server's URL with `search_path` set to this schema: what a store opens.
    pub url: String,
    server: String,
}

impl Schema {
    /// A new, empty schema, or `None` (SKIPPED) without a server.
    pub fn new(label: &str) -> Option<Schema> {
        server(&format!("PostgreSQL test \"{label}\"")).map(|server| Schema::on(&server, label))
    }

    pub fn on(server: &str, label: &str) -> Schema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        let name = format!(
            "t_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        simple_query(server, &format!("CREATE SCHEMA {name}"));
        let sep = if server.contains('?') { '&' } else { '?' };
        Schema {
            url: format!("{server}{sep}options=-csearch_path%3D{name}"),
            name,
            server: server.to_owned(),
        }
    }

    /// A store on this schema (migrated at open).
    pub fn store(&self) -> PostgresStore {
        PostgresStore::open(&self.url).unwrap_or_else(|e| panic!("opening {}: {e}", self.name))
    }

    /// The rows of `sql` run in this schema, every value as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        simple_query(&self.url, sql)
    }

    /// The one integer `sql` returns (`SELECT count(*) …`).
    pub fn int(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        rows[0][0]
            .as_deref()
            .unwrap_or_else(|| panic!("{sql}: NULL"))
            .parse()
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            simple_query(
                &self.server,
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            );
        }
    }
}

/// Runs `sql` (one or more statements, simple protocol) on a connection of its own; the rows of
/// every statement, each value as text.
pub fn simple_query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    use tokio_postgres::SimpleQueryMessage;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
        let connection = tokio::spawn(connection);
        let messages = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = connection.await;
        messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}
