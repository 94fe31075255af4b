//! The store the engine tests run on: the memory store, SQLite and, when `DEVICEFLOW_TEST_POSTGRES`
//! names a server, PostgreSQL (a fresh schema per harness), side by side. Every call goes to each
//! store in turn and they must give the same answer, so every engine test is a test of every
//! store, and a store that differs fails at the call where it does.
//!
//! (Concurrency is tested per store, elsewhere: mirrored calls run one after another.)

use std::fmt::Debug;
use std::sync::Arc;

use deviceflow_server::engine::codes::Digest32;
use deviceflow_server::engine::{
    DeviceRecord, DeviceStatus, GrantSummary, Insertion, Quota, SigningKeyRecord, Store,
    StoreError, TokenRecord,
};
use deviceflow_server::store::{MemoryStore, SqliteStore};

use super::pg;

pub struct Mirror {
    memory: Arc<MemoryStore>,
    others: Vec<(&'static str, Box<dyn Store>)>,
    /// Dropped after the stores that use it.
    _schema: Option<pg::Schema>,
}

impl Default for Mirror {
    fn default() -> Self {
        Self::new()
    }
}

impl Mirror {
    pub fn new() -> Self {
        let mut others: Vec<(&'static str, Box<dyn Store>)> =
            vec![("sqlite", Box::new(SqliteStore::in_memory().unwrap()))];
        let schema = postgres_server().map(|server| pg::Schema::on(&server, "engine"));
        if let Some(schema) = &schema {
            others.push(("postgres", Box::new(schema.store())));
        }
        Mirror {
            memory: Arc::new(MemoryStore::new()),
            others,
            _schema: schema,
        }
    }

    /// The stores besides memory this mirror runs on.
    pub fn names(&self) -> Vec<&'static str> {
        self.others.iter().map(|(name, _)| *name).collect()
    }

    /// Every device record (from memory; each is checked to be the same in every store).
    pub fn devices(&self) -> Vec<DeviceRecord> {
        let devices = self.memory.devices();
        for d in &devices {
            self.same("device_by_id", |s| s.device_by_id(&d.id))
                .unwrap();
        }
        devices
    }

    /// Every token record (from memory; each is checked to be the same in every store).
    pub fn tokens(&self) -> Vec<TokenRecord> {
        let tokens = self.memory.tokens();
        for t in &tokens {
            self.same("token", |s| s.token(&t.hash)).unwrap();
        }
        tokens
    }

    /// `call` on memory, then on each other store, which must answer the same.
    fn same<T: PartialEq + Debug>(
        &self,
        what: &str,
        call: impl Fn(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let first = call(self.memory.as_ref());
        for (name, store) in &self.others {
            let other = call(store.as_ref());
            match (&first, &other) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}: memory and {name} disagree"),
                (Err(_), Err(_)) => {}
                _ => panic!("{what}: memory answered {first:?}, {name} {other:?}"),
            }
        }
        first
    }
}

/// The PostgreSQL server, if any; SKIPPED is said once per test binary, not once per harness.
fn postgres_server() -> Option<String> {
    static SAID: std::sync::Once = std::sync::Once::new();
    match std::env::var(pg::VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                pg::skipped("the engine tests on PostgreSQL");
            }
            SAID.call_once(|| pg::skipped("the engine tests on PostgreSQL"));
            None
        }
    }
}

impl Store for Mirror {
    fn insert_device(&self, d: &DeviceRecord, q: &[Quota<'_>]) -> Result<Insertion, StoreError> {
        self.same("insert_device", |s| s.insert_device(d, q))
    }
    fn device_by_id(&self, id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        self.same("device_by_id", |s| s.device_by_id(id))
    }
    fn device_by_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        self.same("device_by_code", |s| s.device_by_code(h))
    }
    fn device_by_user_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        self.same("device_by_user_code", |s| s.device_by_user_code(h))
    }
    fn set_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        subject: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.same("set_status", |s| s.set_status(id, from, to, subject))
    }
    fn record_poll(
        &self,
        id: &str,
        previous: Option<i64>,
        now_ms: i64,
        slow_down: bool,
    ) -> Result<bool, StoreError> {
        self.same("record_poll", |s| {
            s.record_poll(id, previous, now_ms, slow_down)
        })
    }
    fn redeem(
        &self,
        id: &str,
        tokens: &[TokenRecord],
        redeemed_at_ms: i64,
        sealed_response: &[u8],
    ) -> Result<bool, StoreError> {
        self.same("redeem", |s| {
            s.redeem(id, tokens, redeemed_at_ms, sealed_response)
        })
    }
    fn token(&self, h: &Digest32) -> Result<Option<TokenRecord>, StoreError> {
        self.same("token", |s| s.token(h))
    }
    fn rotate(&self, old: &Digest32, tokens: &[TokenRecord]) -> Result<bool, StoreError> {
        self.same("rotate", |s| s.rotate(old, tokens))
    }
    fn revoke_token(&self, h: &Digest32) -> Result<(), StoreError> {
        self.same("revoke_token", |s| s.revoke_token(h))
    }
    fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        self.same("revoke_grant", |s| s.revoke_grant(grant_id))
    }
    fn bump_counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        self.same("bump_counter", |s| s.bump_counter(key, window_start_ms))
    }
    fn counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        self.same("counter", |s| s.counter(key, window_start_ms))
    }
    fn purge(&self, before_ms: i64) -> Result<(), StoreError> {
        self.same("purge", |s| s.purge(before_ms))
    }
    fn grants_of(&self, subject: &str, now_ms: i64) -> Result<Vec<GrantSummary>, StoreError> {
        self.same("grants_of", |s| s.grants_of(subject, now_ms))
    }
    fn pending_count(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        self.same("pending_count", |s| s.pending_count(now_ms))
    }
    fn secret(&self, name: &str, fresh: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        self.same("secret", |s| s.secret(name, fresh))
    }
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.same("signing_keys", |s| s.signing_keys())
    }
    fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        self.same("insert_signing_key", |s| s.insert_signing_key(key))
    }
    fn delete_signing_key(&self, generation: i64) -> Result<(), StoreError> {
        self.same("delete_signing_key", |s| s.delete_signing_key(generation))
    }
}

#[test]
fn the_mirror_runs_on_every_store_and_catches_one_that_differs() {
    let mirror = Mirror::new();
    let postgres = std::env::var(pg::VAR).is_ok_and(|v| !v.is_empty());
    let want = if postgres {
        vec!["sqlite", "postgres"]
    } else {
        vec!["sqlite"]
    };
    assert_eq!(mirror.names(), want);
    let device = super::fixtures::pending_device("only-in-memory", [1; 32], [2; 32]);
    // Through the mirror, every store gets it and every store reads it back.
    let mut same = device.clone();
    same.id = "everywhere".into();
    same.device_code_hash = [3; 32];
    same.user_code_hash = [4; 32];
    assert_eq!(
        mirror.insert_device(&same, &[]).unwrap(),
        Insertion::Inserted
    );
    assert_eq!(mirror.device_by_id("everywhere").unwrap(), Some(same));
    // Behind the mirror's back, only memory gets one: the next read of it fails the test.
    assert_eq!(
        mirror.memory.insert_device(&device, &[]).unwrap(),
        Insertion::Inserted
    );
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mirror.device_by_id("only-in-memory")
    }));
    assert!(
        read.is_err(),
        "the stores disagreed and the mirror let it pass"
    );
}
