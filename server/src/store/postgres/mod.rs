//! The PostgreSQL store: several server instances behind a load balancer on one database.
//!
//! * Driver: tokio-postgres, pooled by deadpool-postgres, on a runtime the store owns (see
//!   `bridge.rs` for why a synchronous `Store` is built that way).
//! * Schema: versioned migrations under `server/migrations/postgres/`, applied by refinery at
//!   open under an advisory lock, so instances that start together take turns (`migrate.rs`).
//! * Every transition that must happen once is one conditional statement whose row count is the
//!   answer (`UPDATE … WHERE status = 'approved'`, `INSERT … ON CONFLICT DO NOTHING`,
//!   `INSERT … ON CONFLICT DO UPDATE … RETURNING count`), or a transaction that starts with such
//!   an `UPDATE` and commits only if it changed exactly one row: never check-then-set. Under
//!   PostgreSQL's READ COMMITTED, a concurrent `UPDATE` of the same row waits for the first to
//!   commit, then re-checks its `WHERE` against the new row and changes nothing.

mod bridge;
mod migrate;
mod rows;
mod store;
mod url;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::engine::{StoreError, TokenRecord};
use bridge::Bridge;
use rows::TokenColumns;

pub use migrate::names as migration_names;
/// The driver's parsed connection settings (to check a URL without connecting).
pub use tokio_postgres::Config as ConnectConfig;
pub use url::{is_postgres_url, redact_url, with_password};

type Conn = deadpool_postgres::Object;
type Param = Box<dyn ToSql + Send + Sync>;

/// The parameters of one statement, owned (they travel to the store's runtime).
macro_rules! params {
    ($($p:expr),* $(,)?) => { vec![$(Box::new($p) as $crate::store::postgres::Param),*] };
}
pub(crate) use params;

/// Pool settings. `PostgresOptions::default()`: 16 connections, 10 s timeouts.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Connections this store opens at most (each instance has its own pool; PostgreSQL allows
    /// 100 in all by default).
    pub max_connections: usize,
    /// How long opening a connection, or waiting for a free one, may take before the call fails
    /// (the request then gets a `server_error` instead of hanging).
    pub timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A [`Store`](crate::engine::Store) on PostgreSQL. Every instance opened on the same database
/// (and schema) shares codes, tokens, rate-limit counters, secrets and signing keys.
///
/// A connection string selects the schema as PostgreSQL does, with its `options` parameter:
/// `postgres://app@db/deviceflow?options=-csearch_path%3Dlogin` keeps the tables in the
/// existing schema `login`. TLS to the database is not supported yet (`sslmode=require` fails).
pub struct PostgresStore {
    // Dropped before the runtime its connections live on.
    pool: Pool,
    bridge: Bridge,
    /// The URL without its password, for `Debug`.
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A driver error as a store error. Its text never holds a code or token: only their hashes are
/// ever sent to the database.
fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError(format!("postgres: {e}"))
}

async fn connection(pool: &Pool) -> Result<Conn, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError(format!("postgres: {e}")))
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

const INSERT_TOKENS: &str = concat!(
    "INSERT INTO tokens (",
    rows::token_columns!(),
    ") SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])"
);

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or anything
    /// tokio-postgres accepts) and applies the migrations this build has not applied yet.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, PostgresOptions::default())
    }

    pub fn open_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let target = redact_url(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("database URL {target}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("deviceflow");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.timeout))
            .create_timeout(Some(options.timeout))
            .recycle_timeout(Some(options.timeout))
            .build()
            .map_err(|e| StoreError(format!("database pool: {e}")))?;
        let store = PostgresStore {
            pool,
            bridge: Bridge::new()?,
            target,
        };
        let pool = store.pool.clone();
        store
            .bridge
            .run(async move { migrate::run(&mut connection(&pool).await?).await })
            .map_err(|e| StoreError(format!("{}: {}", store.target, e.0)))?;
        Ok(store)
    }

    fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.bridge.run(async move {
            let c = connection(&pool).await?;
            let statement = c.prepare_cached(sql).await.map_err(db)?;
            c.execute(&statement, &refs(&params)).await.map_err(db)
        })
    }

    fn query(
        &self,
        sql: impl AsRef<str> + Send + 'static,
        params: Vec<Param>,
    ) -> Result<Vec<Row>, StoreError> {
        let pool = self.pool.clone();
        self.bridge.run(async move {
            let c = connection(&pool).await?;
            let statement = c.prepare_cached(sql.as_ref()).await.map_err(db)?;
            c.query(&statement, &refs(&params)).await.map_err(db)
        })
    }

    fn query_opt(
        &self,
        sql: impl AsRef<str> + Send + 'static,
        params: Vec<Param>,
    ) -> Result<Option<Row>, StoreError> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(StoreError(format!(
                "postgres: {} rows where at most one was expected",
                rows.len()
            )));
        }
        Ok(rows.pop())
    }

    /// One transaction: `update` (a conditional `UPDATE`), then, only if it changed exactly one
    /// row, `tokens` inserted; committed only then. `Ok(false)` (rolled back) if it changed none.
    fn transition(
        &self,
        update: &'static str,
        params: Vec<Param>,
        tokens: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let columns = TokenColumns::new(tokens);
        let pool = self.pool.clone();
        self.bridge.run(async move {
            let mut c = connection(&pool).await?;
            let tx = c.transaction().await.map_err(db)?;
            let statement = tx.prepare_cached(update).await.map_err(db)?;
            let changed = tx.execute(&statement, &refs(&params)).await.map_err(db)?;
            if changed != 1 {
                tx.rollback().await.map_err(db)?;
                return Ok(false);
            }
            if columns.len() > 0 {
                let insert = tx.prepare_cached(INSERT_TOKENS).await.map_err(db)?;
                let n = columns.len();
                let c = columns;
                let inserted = tx
                    .execute(
                        &insert,
                        &[
                            &c.hash,
                            &c.kind,
                            &c.grant_id,
                            &c.client_id,
                            &c.scope,
                            &c.subject,
                            &c.issued_at_ms,
                            &c.expires_at_ms,
                            &c.grant_expires_at_ms,
                            &c.state,
                        ],
                    )
                    .await
                    .map_err(db)?;
                if inserted != n as u64 {
                    tx.rollback().await.map_err(db)?;
                    return Err(StoreError(format!(
                        "postgres: {inserted} of {n} tokens inserted"
                    )));
                }
            }
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
    }
}
