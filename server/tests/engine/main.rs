//! Engine tests on a fake clock: every rule of RFC 8628 §3.1-3.5, §5.1, §6.1, RFC 9700
//! §4.14.2 and RFC 7009 the engine implements, driven through its public API.

mod audit;
mod clients;
mod codes;
mod entry;
mod group_commit;
mod issuance;
mod jwt;
mod lost_response;
mod mirror;
mod params;
mod polling;
mod refresh;
mod secrets;
mod sqlite;
mod sqlite_file;

use deviceflow_server::engine::Entrant;

use deviceflow_server::engine::{
    ClientRequest, Engine, EngineConfig, Params, Response, Store, DEVICE_CODE_GRANT,
};
use serde_json::Value;

#[path = "../fixtures/mod.rs"]
mod fixtures;
#[path = "../pg/mod.rs"]
mod pg;
pub use fixtures::{clients, TestRng};

/// An engine with a 5 s interval, 600 s codes and the test clients, plus its RNG. By default on
/// a [`mirror::Mirror`]: memory, SQLite and PostgreSQL at once, which must agree on every call.
pub struct Harness<S: Store = mirror::Mirror> {
    pub engine: Engine<S>,
    pub rng: TestRng,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_store(mirror::Mirror::new())
    }

    pub fn request(pairs: &[(&str, &str)]) -> ClientRequest {
        request(pairs)
    }
}

pub fn request(pairs: &[(&str, &str)]) -> ClientRequest {
    ClientRequest {
        params: Params::from_pairs(pairs.iter().copied()),
        authorization: None,
        source: "192.0.2.1".into(),
    }
}

impl<S: Store> Harness<S> {
    pub fn with_store(store: S) -> Self {
        let config = EngineConfig::new("http://127.0.0.1:9", [7; 32]);
        Harness {
            engine: Engine::new(config, clients(), store),
            rng: TestRng(0),
        }
    }

    pub fn authorize(&mut self, now: i64) -> Authorized {
        let r = self.engine.handle_device_authorization(
            &request(&[("client_id", "cli")]),
            now,
            &mut self.rng,
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        Authorized {
            device_code: r.body["device_code"].as_str().unwrap().to_owned(),
            user_code: r.body["user_code"].as_str().unwrap().to_owned(),
            body: r.body,
        }
    }

    pub fn poll(&mut self, device_code: &str, now: i64) -> Response {
        let req = request(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", "cli"),
            ("device_code", device_code),
        ]);
        self.engine.handle_token(&req, now, &mut self.rng)
    }

    pub fn decide(&mut self, user_code: &str, approve: bool, now: i64) {
        let pending = self
            .engine
            .handle_user_code(user_code, &Entrant::new("browser", "198.51.100.7"), now)
            .unwrap();
        self.engine
            .handle_decision(&pending.device_id, "alice", "198.51.100.7", approve, now)
            .unwrap();
    }

    pub fn refresh(&mut self, refresh_token: &str, now: i64) -> Response {
        let req = request(&[
            ("grant_type", "refresh_token"),
            ("client_id", "cli"),
            ("refresh_token", refresh_token),
        ]);
        self.engine.handle_token(&req, now, &mut self.rng)
    }

    /// Authorize, approve, redeem: the token response body.
    pub fn tokens(&mut self, now: i64) -> Value {
        let a = self.authorize(now);
        self.decide(&a.user_code, true, now + 1_000);
        let r = self.poll(&a.device_code, now + 5_000);
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }
}

pub struct Authorized {
    pub device_code: String,
    pub user_code: String,
    pub body: Value,
}

/// The `error` of a response (panics on success).
pub fn error(r: &Response) -> &str {
    r.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {}", r.status))
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("deviceflow-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
