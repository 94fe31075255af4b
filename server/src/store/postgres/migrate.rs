//! Versioned migrations (`server/migrations/postgres/V{n}__{name}.sql`), applied by refinery when
//! a store opens.
//!
//! refinery takes no lock of its own, and two instances starting at once would both try to create
//! the same tables (PostgreSQL refuses the second `CREATE TABLE` of a concurrent pair with a
//! unique violation in its catalog). So the run holds a session advisory lock, keyed by the
//! schema the tables go into: the second instance waits, then finds every migration applied. A
//! process that dies holding the lock loses its session, and with it the lock.
//!
//! The files are listed here with `include_str!` (so a changed file rebuilds the crate), and a test
//! checks that the list and the folder agree.

use refinery::{Migration, Runner};

use super::{db, Conn};
use crate::engine::StoreError;

/// Every migration, in order. Add new files at the end; never edit one that has shipped.
const MIGRATIONS: &[(&str, &str)] = &[(
    "V1__initial",
    include_str!("../../../migrations/postgres/V1__initial.sql"),
)];

/// refinery's bookkeeping table, in the same schema as the store's tables.
const HISTORY_TABLE: &str = "deviceflow_schema_history";

/// The advisory lock's key: one per schema, so stores in different schemas of one database
/// (tests, or several deployments) migrate independently.
const LOCK: &str = "SELECT pg_advisory_lock(hashtextextended('deviceflow-migrations:' || \
                    coalesce(current_schema(), ''), 0))";
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended('deviceflow-migrations:' || \
                      coalesce(current_schema(), ''), 0))";

/// The names of the migrations this build knows, in order (`V1__initial`, …).
pub fn names() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(name, _)| *name).collect()
}

pub(super) async fn run(conn: &mut Conn) -> Result<(), StoreError> {
    let migrations = MIGRATIONS
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, sql))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError(format!("migration list: {e}")))?;
    // refinery's defaults stand: a changed applied migration, or one this build does not know (a
    // newer build migrated the database), stops the store from opening.
    let mut runner = Runner::new(&migrations);
    runner.set_migration_table_name(HISTORY_TABLE);
    let client: &mut tokio_postgres::Client = conn;
    client.execute(LOCK, &[]).await.map_err(db)?;
    let result = runner.run_async(client).await;
    // Unlock before reporting, whatever happened (a broken connection releases it anyway).
    let unlocked = client.execute(UNLOCK, &[]).await.map_err(db);
    result.map_err(|e| StoreError(format!("applying the PostgreSQL migrations: {}", chain(&e))))?;
    unlocked.map(drop)
}

/// An error and its causes (refinery names the migration; the database's message is a cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
