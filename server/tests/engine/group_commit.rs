//! The SQLite store's group commit: inserts made while a group is open share one transaction,
//! yet each gets exactly the answer it would get alone, nothing is visible (or durable) before
//! the group's commit, and every other call, and dropping the store, commits an open group.

use std::sync::Arc;

use deviceflow_server::engine::codes::Digest32;
use deviceflow_server::engine::{CommitTicket, DeviceRecord, Insertion, Quota, Store};
use deviceflow_server::store::{MemoryStore, SqliteStore};

use super::TempDir;

const WINDOW: i64 = 60_000;

fn record(id: &str, device_code: u8, user_code: u16) -> DeviceRecord {
    let mut user = [0; 32];
    user[..2].copy_from_slice(&user_code.to_be_bytes());
    let mut record = super::fixtures::pending_device(id, digest(device_code, 1), user);
    record.created_at_ms = WINDOW;
    record.expires_at_ms = WINDOW + 600_000;
    record
}

fn digest(a: u8, b: u8) -> Digest32 {
    let mut d = [0; 32];
    d[0] = a;
    d[1] = b;
    d
}

fn quotas<'k>(source: &'k str) -> [Quota<'k>; 2] {
    [
        Quota {
            key: source,
            window_start_ms: WINDOW,
            limit: 3,
        },
        Quota {
            key: "client",
            window_start_ms: WINDOW,
            limit: 5,
        },
    ]
}

#[test]
fn grouped_inserts_get_exact_answers_and_are_stored_by_one_commit() {
    use Insertion::{CodeTaken, Inserted, OverQuota};
    let dir = TempDir::new("group");
    let path = dir.path().join("db.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap(); // another process on the file
                                                   // (id, device code, user code, source) → the answer alone, in this order.
    let calls = [
        ("r1", 1, 1, "a", Inserted),
        ("r1", 10, 10, "d", CodeTaken), // r1's id
        ("r2", 2, 1, "a", CodeTaken),   // r1's user code
        ("r3", 3, 3, "a", Inserted),
        ("r4", 4, 4, "a", Inserted), // a's third
        ("r5", 5, 5, "a", OverQuota(0)),
        ("r6", 6, 6, "b", Inserted), // the client's fourth (r2 and r5 took nothing)
        ("r7", 3, 7, "b", CodeTaken), // r3's device code
        ("r8", 8, 8, "c", Inserted), // the client's fifth
        ("r9", 9, 9, "c", OverQuota(1)),
    ];
    let memory = MemoryStore::new();
    let mut tickets: Vec<CommitTicket> = Vec::new();
    for (id, dc, uc, source, want) in calls {
        let r = record(id, dc, uc);
        let (got, ticket) = store.insert_device_grouped(&r, &quotas(source)).unwrap();
        assert_eq!(got, want, "{id}");
        assert_eq!(memory.insert_device(&r, &quotas(source)).unwrap(), want);
        tickets.push(ticket.expect("SQLite groups inserts"));
    }
    // One group: every call of it has the same ticket.
    assert!(tickets.iter().all(|t| *t == tickets[0]), "{tickets:?}");
    // Not committed: another connection sees nothing yet.
    assert!(other.device_by_id("r1").unwrap().is_none());
    assert_eq!(other.counter("client", WINDOW).unwrap(), 0);

    store.commit_through(tickets[0]).unwrap();
    for id in ["r1", "r3", "r4", "r6", "r8"] {
        let d = other.device_by_id(id).unwrap().expect(id);
        assert_eq!(d, store.device_by_id(id).unwrap().unwrap());
    }
    for id in ["r2", "r5", "r7", "r9"] {
        assert!(other.device_by_id(id).unwrap().is_none(), "{id}");
    }
    let r1 = other.device_by_id("r1").unwrap().unwrap();
    assert_eq!(r1.device_code_hash, digest(1, 1), "the first r1 stands");
    // Counted: every insert and every refusal over a quota (against that quota and those before
    // it); a code taken counts nothing.
    assert_eq!(other.counter("a", WINDOW).unwrap(), 4);
    assert_eq!(other.counter("b", WINDOW).unwrap(), 1);
    assert_eq!(other.counter("c", WINDOW).unwrap(), 2);
    assert_eq!(other.counter("d", WINDOW).unwrap(), 0);
    assert_eq!(other.counter("client", WINDOW).unwrap(), 6);
    // Committing again is a no-op; a later group gets a later ticket.
    store.commit_through(tickets[0]).unwrap();
    let (_, next) = store
        .insert_device_grouped(&record("s1", 11, 11), &quotas("e"))
        .unwrap();
    assert!(next.unwrap() > tickets[0]);
}

#[test]
fn concurrent_grouped_inserts_keep_quotas_and_codes_exact() {
    const THREADS: usize = 8;
    const EACH: usize = 40;
    const LIMIT: u32 = 100;
    let dir = TempDir::new("group-race");
    let path = dir.path().join("db.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let answers: Vec<(u16, Insertion)> = (0..THREADS)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut out = Vec::new();
                for i in 0..EACH {
                    let n = t * EACH + i;
                    // 320 attempts on 200 user codes: many collide, across threads too.
                    let user_code = (n % 200) as u16;
                    let mut r = record(&format!("id{n}"), 0, user_code);
                    r.device_code_hash = digest((n % 256) as u8, (n / 256) as u8 + 1);
                    let q = [Quota {
                        key: "client",
                        window_start_ms: WINDOW,
                        limit: LIMIT,
                    }];
                    let (got, ticket) = store.insert_device_grouped(&r, &q).unwrap();
                    // Some callers commit at once, others leave it to whoever comes next.
                    if i % 3 == 0 {
                        store.commit_through(ticket.unwrap()).unwrap();
                    }
                    out.push((user_code, got));
                }
                out
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    drop(store); // commits whatever group is still open
    let count = |want: fn(&Insertion) -> bool| answers.iter().filter(|(_, a)| want(a)).count();
    let inserted = count(|a| *a == Insertion::Inserted);
    let over = count(|a| matches!(a, Insertion::OverQuota(0)));
    let taken = count(|a| *a == Insertion::CodeTaken);
    assert_eq!(inserted + over + taken, THREADS * EACH);
    assert_eq!(inserted, LIMIT as usize, "exactly the quota");
    let mut codes: Vec<u16> = answers
        .iter()
        .filter(|(_, a)| *a == Insertion::Inserted)
        .map(|(c, _)| *c)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), inserted, "a user code is given once");

    let reopened = SqliteStore::open(&path).unwrap();
    let stored = (0..THREADS * EACH)
        .filter(|n| reopened.device_by_id(&format!("id{n}")).unwrap().is_some())
        .count();
    assert_eq!(stored, inserted);
    assert_eq!(
        reopened.counter("client", WINDOW).unwrap() as usize,
        inserted + over
    );
}

#[test]
fn any_other_call_and_dropping_the_store_commit_an_open_group() {
    let dir = TempDir::new("group-flush");
    let path = dir.path().join("db.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    let (got, ticket) = store
        .insert_device_grouped(&record("g1", 1, 1), &[])
        .unwrap();
    assert_eq!((got, ticket.is_some()), (Insertion::Inserted, true));
    assert!(other.device_by_id("g1").unwrap().is_none());
    // A read on the same store commits the group first (its own effects stand alone).
    assert!(store.device_by_id("nothing").unwrap().is_none());
    assert!(other.device_by_id("g1").unwrap().is_some());
    // The ticket of a group committed by someone else is done.
    store.commit_through(ticket.unwrap()).unwrap();

    store
        .insert_device_grouped(&record("g2", 2, 2), &[])
        .unwrap();
    assert!(other.device_by_id("g2").unwrap().is_none());
    drop(store);
    assert!(other.device_by_id("g2").unwrap().is_some());
}

#[test]
fn the_ungrouped_insert_and_the_engine_commit_before_answering() {
    let dir = TempDir::new("group-engine");
    let path = dir.path().join("db.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.insert_device(&record("u1", 1, 1), &[]).unwrap(),
        Insertion::Inserted
    );
    assert!(other.device_by_id("u1").unwrap().is_some());
    // The engine's plain entry point: the code it answers with is stored when it returns.
    let mut h = super::Harness::with_store(store);
    let a = h.authorize(0);
    let hash = deviceflow_server::engine::codes::device_code_key(&a.device_code);
    assert!(other.device_by_code(&hash).unwrap().is_some());
    // The grouped entry point leaves it to the caller; finishing it makes it visible.
    let (r, ticket) = h.engine.handle_device_authorization_grouped(
        &super::request(&[("client_id", "cli")]),
        1_000,
        &mut h.rng,
    );
    assert_eq!(r.status, 200);
    let hash =
        deviceflow_server::engine::codes::device_code_key(r.body["device_code"].as_str().unwrap());
    assert!(other.device_by_code(&hash).unwrap().is_none());
    let r = h.engine.finish_grouped(r, ticket);
    assert_eq!(r.status, 200);
    assert!(other.device_by_code(&hash).unwrap().is_some());
}
