//! The PostgreSQL store on its own: migrations (applied once, by instances starting together, and
//! refused on a database a newer build migrated), every one-time transition raced from several
//! stores on one database, all-or-nothing transactions, shared keys, no secret in the database or
//! in `Debug`, and what a pending code costs. The engine rules themselves run on PostgreSQL through
//! the mirrored store of `tests/engine/` and the vectors of `tests/vectors.rs`.
//! Needs `DEVICEFLOW_TEST_POSTGRES` (tests/with-postgres.sh); says SKIPPED without it.

mod fixtures;
mod pg;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use deviceflow_server::engine::codes::device_code_key;
use deviceflow_server::engine::{
    ClientRequest, DeviceRecord, DeviceStatus, Engine, EngineConfig, Entrant, Insertion, Params,
    Quota, Response, SigningKeyRecord, Store, TokenKind, TokenRecord, TokenState,
    DEVICE_CODE_GRANT,
};
use deviceflow_server::store::postgres::migration_names;
use deviceflow_server::store::{PostgresOptions, PostgresStore};
use deviceflow_server::ServerConfig;
use fixtures::{clients, TestRng};
use serde_json::Value;

/// Runs `f(i, store)` on `n` threads released together, thread `i` on store `i % stores.len()`.
fn race<T: Send>(
    n: usize,
    stores: &[PostgresStore],
    f: impl Fn(usize, &PostgresStore) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f, store) = (&barrier, &f, &stores[i % stores.len()]);
                scope.spawn(move || {
                    barrier.wait();
                    f(i, store)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn wins(results: &[bool]) -> usize {
    results.iter().filter(|w| **w).count()
}

fn device(id: &str, n: u8) -> DeviceRecord {
    fixtures::pending_device(id, [n; 32], [n.wrapping_add(100); 32])
}

fn token(grant: &str, n: u8, kind: TokenKind) -> TokenRecord {
    TokenRecord {
        hash: [n; 32],
        kind,
        grant_id: grant.into(),
        client_id: "cli".into(),
        scope: "openid".into(),
        subject: "alice".into(),
        issued_at_ms: 1,
        expires_at_ms: 3_600_000,
        grant_expires_at_ms: 86_400_000,
        state: TokenState::Active,
    }
}

#[test]
fn the_migration_list_is_the_migrations_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort_by_key(|f| {
        f.trim_start_matches('V')
            .split("__")
            .next()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    });
    let listed: Vec<String> = migration_names()
        .iter()
        .map(|n| format!("{n}.sql"))
        .collect();
    assert_eq!(files, listed, "every file in {dir:?} listed once, in order");
}

#[test]
fn an_unreachable_database_is_an_error_soon_and_its_password_is_not_in_it() {
    // Port 1 on loopback: nothing listens there.
    let started = Instant::now();
    let options = PostgresOptions {
        timeout: Duration::from_secs(3),
        ..PostgresOptions::default()
    };
    let e = PostgresStore::open_with("postgres://app:hunter2@127.0.0.1:1/df", options)
        .expect_err("nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!e.0.contains("hunter2"), "{e}");
    assert!(e.0.contains("postgres://app:***@127.0.0.1:1/df"), "{e}");
    // The server refuses to start rather than run without its store.
    let config = ServerConfig {
        database_url: Some("postgres://app:hunter2@127.0.0.1:1/df".into()),
        ..ServerConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("app:***@"),
        "{shown}"
    );
    let e = deviceflow_server::spawn(config).expect_err("no database, no server");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn instances_opening_a_new_database_together_migrate_it_once() {
    let Some(schema) = pg::Schema::new("migrate together") else {
        return;
    };
    let barrier = Barrier::new(12);
    let opened: Vec<Result<PostgresStore, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    PostgresStore::open(&schema.url).map_err(|e| e.0)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for store in &opened {
        assert!(store.is_ok(), "{:?}", store.as_ref().err());
    }
    let applied =
        schema.rows("SELECT version, name FROM deviceflow_schema_history ORDER BY version");
    let names: Vec<String> = applied
        .iter()
        .map(|r| {
            format!(
                "V{}__{}",
                r[0].as_deref().unwrap(),
                r[1].as_deref().unwrap()
            )
        })
        .collect();
    assert_eq!(names, migration_names(), "each migration applied once");
    let tables = schema.int(&format!(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name \
         IN ('devices', 'tokens', 'counters', 'secrets', 'signing_keys')",
        schema.name
    ));
    assert_eq!(tables, 5);
    // Opening again applies nothing.
    drop(opened);
    drop(schema.store());
    assert_eq!(
        schema.int("SELECT count(*) FROM deviceflow_schema_history"),
        migration_names().len() as i64
    );
}

#[test]
fn a_database_migrated_by_a_newer_build_is_refused() {
    let Some(schema) = pg::Schema::new("newer build") else {
        return;
    };
    drop(schema.store());
    schema.rows(
        "INSERT INTO deviceflow_schema_history (version, name, applied_on, checksum) \
         VALUES (999, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
    );
    let e = PostgresStore::open(&schema.url).expect_err("a migration this build does not know");
    assert!(e.0.contains("999"), "{e}");
}

/// A migration runs in a transaction: one that fails says why and leaves nothing behind.
#[test]
fn a_migration_that_fails_says_why_and_changes_nothing() {
    let Some(schema) = pg::Schema::new("failed migration") else {
        return;
    };
    schema.rows("CREATE TABLE counters (unrelated INTEGER)");
    let e = PostgresStore::open(&schema.url).expect_err("V1 cannot create `counters`");
    assert!(e.0.contains("V1__initial"), "{e}");
    assert!(e.0.contains("\"counters\" already exists"), "{e}");
    let tables = schema.int(&format!(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}'",
        schema.name
    ));
    assert_eq!(tables, 2, "only `counters` and the empty history table");
    assert_eq!(
        schema.int("SELECT count(*) FROM deviceflow_schema_history"),
        0
    );
}

#[test]
fn one_time_transitions_happen_once_across_stores() {
    let Some(schema) = pg::Schema::new("transitions") else {
        return;
    };
    let stores: Vec<PostgresStore> = (0..3).map(|_| schema.store()).collect();
    let s = &stores[0];

    // The same codes inserted by 12 instances: one insert.
    let inserted = race(12, &stores, |_, st| {
        st.insert_device(&device("d1", 1), &[]).unwrap() == Insertion::Inserted
    });
    assert_eq!(wins(&inserted), 1);

    // Distinct codes against a quota of 5 per source, then 7 per client, from 12 instances at
    // once: 5 inserted; the 7 over the source quota are not counted against the client.
    let quotas = [
        Quota {
            key: "issue-src:198.51.100.7",
            window_start_ms: 0,
            limit: 5,
        },
        Quota {
            key: "issue-client:c",
            window_start_ms: 0,
            limit: 7,
        },
    ];
    let counted = race(12, &stores, |i, st| {
        st.insert_device(&device(&format!("q{i}"), 100 + i as u8), &quotas)
            .unwrap()
    });
    let inserted = counted
        .iter()
        .filter(|c| **c == Insertion::Inserted)
        .count();
    let over = counted
        .iter()
        .filter(|c| **c == Insertion::OverQuota(0))
        .count();
    assert_eq!((inserted, over), (5, 7), "{counted:?}");
    assert_eq!(s.counter("issue-src:198.51.100.7", 0).unwrap(), 12);
    assert_eq!(s.counter("issue-client:c", 0).unwrap(), 5);

    // Polls that read the same `last_poll_ms`: one records itself.
    let recorded = race(12, &stores, |i, st| {
        st.record_poll("d1", None, 100 + i as i64, false).unwrap()
    });
    assert_eq!(wins(&recorded), 1);

    // Approve and deny at once: one decision, and it sticks.
    let decided = race(12, &stores, |i, st| {
        let to = if i % 2 == 0 {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        st.set_status("d1", DeviceStatus::Pending, to, Some("alice"))
            .unwrap()
            .then_some(to)
    });
    let decisions: Vec<DeviceStatus> = decided.into_iter().flatten().collect();
    assert_eq!(decisions.len(), 1);
    assert_eq!(s.device_by_id("d1").unwrap().unwrap().status, decisions[0]);

    // Redemption, each racer with a token set of its own: one set is stored.
    s.insert_device(&device("d2", 2), &[]).unwrap();
    s.set_status(
        "d2",
        DeviceStatus::Pending,
        DeviceStatus::Approved,
        Some("bob"),
    )
    .unwrap();
    let redeemed = race(12, &stores, |i, st| {
        let n = 10 + 2 * i as u8;
        let set = [
            token("d2", n, TokenKind::Access),
            token("d2", n + 1, TokenKind::Refresh),
        ];
        st.redeem("d2", &set, i as i64, &[i as u8; 40]).unwrap()
    });
    assert_eq!(wins(&redeemed), 1);
    let winner = redeemed.iter().position(|w| *w).unwrap() as u8;
    assert_eq!(
        schema.int("SELECT count(*) FROM tokens WHERE grant_id = 'd2'"),
        2
    );
    let d2 = s.device_by_id("d2").unwrap().unwrap();
    assert_eq!(d2.status, DeviceStatus::Consumed);
    assert_eq!(
        d2.sealed_response,
        Some(vec![winner; 40]),
        "the winner's response"
    );
    assert!(s.token(&[10 + 2 * winner; 32]).unwrap().is_some());

    // Rotation of one refresh token: one successor.
    let old = [10 + 2 * winner + 1; 32];
    let rotated = race(12, &stores, |i, st| {
        st.rotate(&old, &[token("d2", 100 + i as u8, TokenKind::Refresh)])
            .unwrap()
    });
    assert_eq!(wins(&rotated), 1);
    assert_eq!(s.token(&old).unwrap().unwrap().state, TokenState::Rotated);
    assert_eq!(
        schema.int("SELECT count(*) FROM tokens WHERE grant_id = 'd2'"),
        3
    );

    // Counters: 60 bumps at once count 1..=60, each number once.
    let mut counts = race(60, &stores, |_, st| st.bump_counter("entry:x", 0).unwrap());
    counts.sort_unstable();
    assert_eq!(counts, (1..=60).collect::<Vec<u32>>());
    assert_eq!(s.counter("entry:x", 0).unwrap(), 60);

    // Secrets and signing keys: the first insert wins, everyone reads it.
    let secrets = race(12, &stores, |i, st| st.secret("k", &[i as u8; 32]).unwrap());
    assert!(secrets.iter().all(|k| *k == secrets[0]), "{secrets:?}");
    let keys = race(12, &stores, |i, st| {
        st.insert_signing_key(&SigningKeyRecord {
            generation: 0,
            kid: format!("kid-{i}"),
            created_at_ms: 0,
            private_key: vec![i as u8; 8],
        })
        .unwrap()
    });
    assert_eq!(wins(&keys), 1);
    assert_eq!(stores[2].signing_keys().unwrap().len(), 1);
}

#[test]
fn a_transition_that_fails_midway_changes_nothing() {
    let Some(schema) = pg::Schema::new("all or nothing") else {
        return;
    };
    let s = schema.store();
    s.insert_device(&device("d", 1), &[]).unwrap();
    s.set_status(
        "d",
        DeviceStatus::Pending,
        DeviceStatus::Approved,
        Some("a"),
    )
    .unwrap();
    let taken = token("other", 9, TokenKind::Access);
    s.insert_device(&device("other", 8), &[]).unwrap();
    s.set_status(
        "other",
        DeviceStatus::Pending,
        DeviceStatus::Approved,
        Some("a"),
    )
    .unwrap();
    assert!(s
        .redeem("other", std::slice::from_ref(&taken), 1, b"x")
        .unwrap());
    // A token hash that is taken: the insert fails, so the redemption is undone.
    let clash = [
        token("d", 5, TokenKind::Access),
        token("d", 9, TokenKind::Refresh),
    ];
    assert!(s.redeem("d", &clash, 2, b"y").is_err());
    let d = s.device_by_id("d").unwrap().unwrap();
    assert_eq!((d.status, d.redeemed_at_ms), (DeviceStatus::Approved, None));
    assert!(s.token(&[5; 32]).unwrap().is_none());
    assert!(s
        .redeem("d", &[token("d", 6, TokenKind::Refresh)], 3, b"z")
        .unwrap());
    // The same for a rotation.
    assert!(s
        .rotate(&[6; 32], &[token("d", 9, TokenKind::Refresh)])
        .is_err());
    assert_eq!(
        s.token(&[6; 32]).unwrap().unwrap().state,
        TokenState::Active
    );
    assert!(s
        .rotate(&[6; 32], &[token("d", 7, TokenKind::Refresh)])
        .unwrap());
}

fn engine(store: PostgresStore) -> Engine<PostgresStore> {
    let mut config = EngineConfig::new("http://127.0.0.1:9", [7; 32]);
    config.issuance.per_source = u32::MAX;
    config.issuance.per_client = u32::MAX;
    Engine::new(config, clients(), store)
}

fn request(pairs: &[(&str, &str)]) -> ClientRequest {
    ClientRequest {
        params: Params::from_pairs(pairs.iter().copied()),
        authorization: None,
        source: "192.0.2.1".into(),
    }
}

fn authorize(e: &Engine<PostgresStore>, now: i64, rng: &mut TestRng) -> (String, String) {
    let r = e.handle_device_authorization(&request(&[("client_id", "cli")]), now, rng);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let field = |k: &str| r.body[k].as_str().unwrap().to_owned();
    (field("device_code"), field("user_code"))
}

fn poll(e: &Engine<PostgresStore>, code: &str, now: i64, rng: &mut TestRng) -> Response {
    let req = request(&[
        ("grant_type", DEVICE_CODE_GRANT),
        ("client_id", "cli"),
        ("device_code", code),
    ]);
    e.handle_token(&req, now, rng)
}

/// Three engines (three instances) on one database, 24 polls at once on an approved code: one
/// redemption; every poll gets its response; one token set is stored.
#[test]
fn racing_polls_on_three_engines_redeem_once() {
    let Some(schema) = pg::Schema::new("engine race") else {
        return;
    };
    let engines: Vec<_> = (0..3).map(|_| engine(schema.store())).collect();
    let (code, user_code) = authorize(&engines[0], 0, &mut TestRng(0));
    let found = engines[1]
        .handle_user_code(&user_code, &Entrant::new("s", "198.51.100.1"), 1)
        .unwrap();
    engines[2]
        .handle_decision(&found.device_id, "alice", "198.51.100.1", true, 2)
        .unwrap();
    let barrier = Barrier::new(24);
    let answers: Vec<Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24u64)
            .map(|i| {
                let (barrier, e, code) = (&barrier, &engines[i as usize % 3], &code);
                scope.spawn(move || {
                    barrier.wait();
                    poll(e, code, 3, &mut TestRng(1_000 * (i + 1)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    assert!(answers.iter().all(|r| r.body == answers[0].body));
    assert_eq!(schema.int("SELECT count(*) FROM tokens"), 2);
}

/// JWT signing keys live in the database: six instances making the first key at once make one,
/// and every instance publishes it.
#[test]
fn instances_make_and_publish_one_signing_key() {
    let Some(schema) = pg::Schema::new("signing keys") else {
        return;
    };
    let engines: Vec<_> = (0..6).map(|_| engine(schema.store())).collect();
    let barrier = Barrier::new(6);
    let made: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut rng = TestRng(7_000 * (i as u64 + 1));
                    e.handle_key_rotation(0, &mut rng).unwrap().signing_kid
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(made.iter().all(|k| *k == made[0]), "{made:?}");
    assert_eq!(schema.int("SELECT count(*) FROM signing_keys"), 1);
    let sets: Vec<Value> = engines.iter().map(|e| e.handle_jwks(1).body).collect();
    assert!(sets.iter().all(|s| *s == sets[0]));
    assert_eq!(sets[0]["keys"][0]["kid"], made[0].as_str());
}

/// A whole login through the engine, then every table read back as text: no device code, user
/// code or token in it, only their hashes.
#[test]
fn the_database_holds_no_plaintext_code_or_token() {
    let Some(schema) = pg::Schema::new("no plaintext") else {
        return;
    };
    let e = engine(schema.store());
    let mut rng = TestRng(0);
    let (code, user_code) = authorize(&e, 0, &mut rng);
    let found = e
        .handle_user_code(&user_code, &Entrant::new("s", "198.51.100.1"), 1)
        .unwrap();
    e.handle_decision(&found.device_id, "alice", "198.51.100.1", true, 2)
        .unwrap();
    let t = poll(&e, &code, 3, &mut rng).body;
    let mut dump = String::new();
    for table in ["devices", "tokens", "counters", "secrets", "signing_keys"] {
        for row in schema.rows(&format!("SELECT t::text FROM {table} t")) {
            dump.push_str(row[0].as_deref().unwrap_or(""));
            dump.push('\n');
        }
    }
    let hex = |digest: [u8; 32]| {
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert!(
        dump.contains(&hex(device_code_key(&code))),
        "the device code's hash is what is kept"
    );
    for secret in [
        code.as_str(),
        &user_code.replace('-', ""),
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!dump.contains(secret), "{secret} is in the database");
    }
    let store = format!("{:?}", e.store);
    assert!(store.starts_with("PostgresStore"), "{store}");
    assert!(!store.contains(&password_of(&schema.url)), "{store}");
}

fn password_of(url: &str) -> String {
    let userinfo = url.split("://").nth(1).unwrap().split('@').next().unwrap();
    userinfo
        .split(':')
        .nth(1)
        .unwrap_or("(no password)")
        .to_owned()
}

/// 10,000 pending device authorizations: bytes per pending code in the database (table, its
/// indexes and TOAST; `--nocapture` prints the figure, `bench/server/run.sh` records it).
#[test]
fn bytes_per_pending_code_in_postgres() {
    const N: usize = 10_000;
    let Some(schema) = pg::Schema::new("size") else {
        return;
    };
    let e = Arc::new(engine(schema.store()));
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let e = e.clone();
            scope.spawn(move || {
                let mut rng = TestRng(1_000_000 * (t + 1));
                for i in 0..N as u64 / 8 {
                    authorize(&e, (t * 10_000 + i) as i64, &mut rng);
                }
            });
        }
    });
    assert_eq!(
        schema.int("SELECT count(*) FROM devices WHERE status = 'pending'"),
        N as i64
    );
    schema.rows("VACUUM ANALYZE devices");
    let total = schema.int("SELECT pg_total_relation_size('devices')");
    let heap = schema.int("SELECT pg_relation_size('devices')");
    let per_code = total as f64 / N as f64;
    println!(
        "PostgreSQL: {N} pending device codes: {total} bytes ({heap} table, {} indexes and \
         TOAST) = {per_code:.0} bytes per pending code",
        total - heap
    );
    assert!(per_code < 1_024.0, "{per_code} bytes per pending code");
    assert!(
        per_code > 100.0,
        "{per_code}: the records are really stored"
    );
}
