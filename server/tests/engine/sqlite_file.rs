//! The SQLite file: created private, persistent keys shared by every process on the file, an
//! older file upgraded at open, and what a pending code costs on disk.

use std::sync::Arc;

use deviceflow_server::engine::Store;
use deviceflow_server::store::{MemoryStore, SqliteStore};

use super::{Harness, TempDir};

#[test]
fn the_first_secret_stored_under_a_name_wins_for_every_process() {
    let dir = TempDir::new("secret");
    let path = dir.path().join("db.sqlite");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap(); // another process, or another instance
    assert_eq!(a.secret("user-code", &[1; 32]).unwrap(), [1; 32]);
    assert_eq!(b.secret("user-code", &[2; 32]).unwrap(), [1; 32]);
    assert_eq!(a.secret("user-code", &[3; 32]).unwrap(), [1; 32]);
    let cookie = b.secret("session-cookie", &[4; 32]).unwrap();
    assert_eq!(cookie, [4; 32]);
    assert_ne!(cookie, a.secret("user-code", &[4; 32]).unwrap());
    drop((a, b));
    // After a restart, and after housekeeping: still the same keys.
    let c = SqliteStore::open(&path).unwrap();
    c.purge(i64::MAX).unwrap();
    assert_eq!(c.secret("user-code", &[5; 32]).unwrap(), [1; 32]);
    assert_eq!(c.secret("session-cookie", &[5; 32]).unwrap(), [4; 32]);
}

#[test]
fn instances_racing_for_a_secret_all_get_the_same_one() {
    let dir = TempDir::new("secret-race");
    let path = dir.path().join("db.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let got: Vec<[u8; 32]> = (0..4u8)
        .map(|i| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = SqliteStore::open(&path).unwrap();
                barrier.wait();
                store.secret("k", &[i + 1; 32]).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(got.iter().all(|k| *k == got[0]), "{got:?}");
    assert!((1..=4).contains(&got[0][0]));
}

#[test]
fn the_memory_store_and_shared_stores_keep_the_first_secret_too() {
    let memory = Arc::new(MemoryStore::new());
    let shared: Arc<dyn Store> = memory.clone();
    assert_eq!(shared.secret("k", &[1; 32]).unwrap(), [1; 32]);
    assert_eq!(memory.secret("k", &[2; 32]).unwrap(), [1; 32]);
    assert_eq!(shared.secret("other", &[2; 32]).unwrap(), [2; 32]);
    memory.purge(i64::MAX).unwrap();
    assert_eq!(shared.secret("k", &[3; 32]).unwrap(), [1; 32]);
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_new_database_file_and_its_wal_are_readable_by_the_owner_only() {
    let dir = TempDir::new("mode");
    let path = dir.path().join("db.sqlite");
    let mut h = Harness::with_store(SqliteStore::open(&path).unwrap());
    h.authorize(0); // a write: the -wal file exists now
    let wal = dir.path().join("db.sqlite-wal");
    let shm = dir.path().join("db.sqlite-shm");
    assert!(wal.exists());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(&shm), 0o600);
}

#[cfg(unix)]
#[test]
fn an_existing_database_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode-kept");
    let path = dir.path().join("db.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut h = Harness::with_store(SqliteStore::open(&path).unwrap());
    h.authorize(0);
    assert_eq!(mode(&path), 0o640);
}

/// The `devices` table as the first release created it, without the columns of the sealed
/// response.
const OLD_DEVICES: &str = "CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  device_code_hash BLOB NOT NULL UNIQUE,
  user_code_hash BLOB NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  interval_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  subject TEXT,
  last_poll_ms INTEGER,
  slow_downs INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL
);
INSERT INTO devices VALUES ('old', zeroblob(32), randomblob(32), 'cli', 'openid', 0, 600000, 5000, 'consumed',
  'alice', NULL, 0, '192.0.2.1');";

#[test]
fn a_database_from_an_older_build_gets_the_new_columns_at_open() {
    let dir = TempDir::new("upgrade");
    let path = dir.path().join("db.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(OLD_DEVICES)
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let old = store.device_by_id("old").unwrap().unwrap();
    assert_eq!((old.redeemed_at_ms, old.sealed_response), (None, None));
    drop(store);
    // A second open finds the columns there; the lost-response rule works on the old file.
    let mut h = Harness::with_store(SqliteStore::open(&path).unwrap());
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1_000);
    let first = h.poll(&a.device_code, 5_000);
    assert_eq!(first.status, 200);
    assert_eq!(h.poll(&a.device_code, 6_000), first);
}

/// 10,000 pending device authorizations in a file-backed store: bytes on disk per pending code,
/// after a WAL checkpoint (`--nocapture` prints the figure).
#[test]
fn bytes_per_pending_code_on_disk() {
    const N: i64 = 10_000;
    let dir = TempDir::new("size");
    let path = dir.path().join("db.sqlite");
    let mut h = Harness::with_store(SqliteStore::open(&path).unwrap());
    h.engine.config.issuance.per_source = u32::MAX;
    h.engine.config.issuance.per_client = u32::MAX;
    for i in 0..N {
        h.authorize(i);
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let pending: i64 = conn
        .query_row(
            "SELECT count(*) FROM devices WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, N);
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint ran to the end");
    let wal = std::fs::metadata(dir.path().join("db.sqlite-wal")).map_or(0, |m| m.len());
    let size = std::fs::metadata(&path).unwrap().len();
    let per_code = (size + wal) as f64 / N as f64;
    println!(
        "SQLite: {N} pending device codes: {size} bytes (+{wal} WAL) = \
         {per_code:.0} bytes per pending code"
    );
    assert!(per_code < 1_024.0, "{per_code} bytes per pending code");
    assert!(
        per_code > 100.0,
        "{per_code}: the records are really on disk"
    );
}

/// A file made before the subject index became partial: the full index is dropped at open, and
/// the devices page's query uses the partial one (pending rows, which have no subject, are not
/// indexed: one B-tree fewer to write per device authorization).
#[test]
fn the_subject_index_skips_pending_rows_in_old_files_too() {
    let dir = TempDir::new("subject-index");
    let path = dir.path().join("db.sqlite");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(OLD_DEVICES).unwrap();
    old.execute_batch("CREATE INDEX devices_subject ON devices(subject);")
        .unwrap();
    drop(old);
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !indexes.contains(&"devices_subject".to_owned()),
        "{indexes:?}"
    );
    assert!(
        indexes.contains(&"devices_subject_set".to_owned()),
        "{indexes:?}"
    );
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM devices WHERE subject = ?1 AND status = 'consumed'",
        )
        .unwrap()
        .query_map(["alice"], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|p| p.contains("devices_subject_set")),
        "{plan:?}"
    );
}
