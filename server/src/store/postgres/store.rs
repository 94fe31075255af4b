//! `Store` on PostgreSQL: each method one statement, or one transaction (`transition`).

use super::rows::{self, device_columns, token_columns};
use super::{params, PostgresStore};
use crate::engine::codes::Digest32;
use crate::engine::{
    DeviceRecord, DeviceStatus, GrantSummary, Insertion, Quota, SigningKeyRecord, Store,
    StoreError, TokenRecord,
};

/// A device authorization counted against `quotas` quotas and inserted, in one statement: each
/// counter is bumped (an atomic upsert, as `BUMP_COUNTER`) only if those before it are within
/// their limits, and the record is inserted only if all are; a code or id already taken inserts
/// nothing (the counts stay). Parameters: the 15 device columns, then key, window start and
/// limit of each quota. Returns each counter's new count (NULL if not bumped) and whether the
/// record was inserted.
fn insert_device_sql(quotas: usize) -> String {
    let within = |upto: usize| -> String {
        let mut conds: Vec<String> = (0..upto)
            .map(|i| format!("(SELECT count FROM q{i}) <= ${}::bigint", 18 + 3 * i))
            .collect();
        conds.push("TRUE".into());
        conds.join(" AND ")
    };
    let mut ctes: Vec<String> = (0..quotas)
        .map(|i| {
            format!(
                "q{i} AS (INSERT INTO counters AS c (key, window_start_ms, count) \
                 SELECT ${}::text, ${}::bigint, 1 WHERE {} \
                 ON CONFLICT (key) DO UPDATE SET count = CASE WHEN c.window_start_ms = \
                 excluded.window_start_ms THEN c.count + 1 ELSE 1 END, \
                 window_start_ms = excluded.window_start_ms RETURNING count)",
                16 + 3 * i,
                17 + 3 * i,
                within(i)
            )
        })
        .collect();
    ctes.push(format!(
        "ins AS (INSERT INTO devices ({}) SELECT $1::text, $2::bytea, $3::bytea, $4::text, \
         $5::text, $6::bigint, $7::bigint, $8::bigint, $9::text, $10::text, $11::bigint, \
         $12::integer, $13::text, $14::bigint, $15::bytea WHERE {} ON CONFLICT DO NOTHING \
         RETURNING 1)",
        device_columns!(),
        within(quotas)
    ));
    let mut results: Vec<String> = (0..quotas)
        .map(|i| format!("(SELECT count FROM q{i})"))
        .collect();
    results.push("(SELECT count(*) FROM ins)".into());
    format!("WITH {} SELECT {}", ctes.join(", "), results.join(", "))
}
const DEVICE_BY_ID: &str = concat!("SELECT ", device_columns!(), " FROM devices WHERE id = $1");
const DEVICE_BY_CODE: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE device_code_hash = $1"
);
const DEVICE_BY_USER_CODE: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE user_code_hash = $1"
);
/// Approval and denial (and a leaked code's lock): only from the expected status.
const SET_STATUS: &str = "UPDATE devices SET status = $3, subject = COALESCE($4, subject) \
                          WHERE id = $1 AND status = $2";
/// A poll's timing: only if no other poll recorded itself since this one read the record.
const RECORD_POLL: &str = "UPDATE devices SET last_poll_ms = $3, slow_downs = slow_downs + $4 \
                           WHERE id = $1 AND last_poll_ms IS NOT DISTINCT FROM $2";
/// Redemption: only an approved code, once.
const REDEEM: &str = "UPDATE devices SET status = 'consumed', redeemed_at_ms = $2, \
                      sealed_response = $3 WHERE id = $1 AND status = 'approved'";
const TOKEN: &str = concat!("SELECT ", token_columns!(), " FROM tokens WHERE hash = $1");
/// Refresh rotation: only an active token, once.
const ROTATE: &str = "UPDATE tokens SET state = 'rotated' WHERE hash = $1 AND state = 'active'";
const REVOKE_TOKEN: &str = "UPDATE tokens SET state = 'revoked' WHERE hash = $1";
const REVOKE_GRANT: &str = "UPDATE tokens SET state = 'revoked' WHERE grant_id = $1";
/// One atomic increment (the upsert locks the row), however many instances bump at once. A bump
/// for another window than the stored one starts that window at 1, as in the other stores.
const BUMP_COUNTER: &str = "INSERT INTO counters AS c (key, window_start_ms, count) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       count = CASE WHEN c.window_start_ms = excluded.window_start_ms THEN c.count + 1 ELSE 1 END, \
       window_start_ms = excluded.window_start_ms \
     RETURNING count";
const COUNTER: &str = "SELECT count FROM counters WHERE key = $1 AND window_start_ms = $2";
/// A record whose grant still holds an unexpired token is the grant's (the devices page).
const PURGE_DEVICES: &str = "DELETE FROM devices WHERE expires_at_ms < $1 AND NOT EXISTS \
     (SELECT 1 FROM tokens WHERE tokens.grant_id = devices.id AND tokens.expires_at_ms >= $1)";
const PURGE_SEALED: &str = "UPDATE devices SET sealed_response = NULL \
     WHERE sealed_response IS NOT NULL AND redeemed_at_ms < $1";
const GRANTS_OF: &str = "SELECT d.id, d.client_id, d.scope, d.source, MIN(t.issued_at_ms), \
     MAX(t.issued_at_ms) FROM devices d JOIN tokens t ON t.grant_id = d.id \
     WHERE d.subject = $1 AND d.status = 'consumed' GROUP BY d.id \
     HAVING bool_or(t.state = 'active' AND t.expires_at_ms > $2) \
     ORDER BY MAX(t.issued_at_ms) DESC LIMIT 100";
const PENDING_COUNT: &str =
    "SELECT COUNT(*) FROM devices WHERE status = 'pending' AND expires_at_ms > $1";
const PURGE_TOKENS: &str = "DELETE FROM tokens WHERE expires_at_ms < $1";
const PURGE_COUNTERS: &str = "DELETE FROM counters WHERE window_start_ms < $1";
/// The first value stored under a name wins: a concurrent insert waits for the first to commit,
/// then inserts nothing. The value is read back by a second statement, which sees that commit.
const INSERT_SECRET: &str =
    "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
const SECRET: &str = "SELECT value FROM secrets WHERE name = $1";
const SIGNING_KEYS: &str = "SELECT generation, kid, created_at_ms, private_key FROM signing_keys \
                            ORDER BY generation";
/// The first process to take a generation (or kid) wins.
const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys \
     (generation, kid, created_at_ms, private_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
const DELETE_SIGNING_KEY: &str = "DELETE FROM signing_keys WHERE generation = $1";

fn counter_value(count: i64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn slow_downs(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Store for PostgresStore {
    fn insert_device(
        &self,
        d: &DeviceRecord,
        quotas: &[Quota<'_>],
    ) -> Result<Insertion, StoreError> {
        let mut p = params![
            d.id.clone(),
            d.device_code_hash.to_vec(),
            d.user_code_hash.to_vec(),
            d.client_id.clone(),
            d.scope.clone(),
            d.created_at_ms,
            d.expires_at_ms,
            d.interval_ms,
            d.status.as_str(),
            d.subject.clone(),
            d.last_poll_ms,
            slow_downs(d.slow_downs),
            d.source.clone(),
            d.redeemed_at_ms,
            d.sealed_response.clone(),
        ];
        for q in quotas {
            p.extend(params![
                q.key.to_owned(),
                q.window_start_ms,
                i64::from(q.limit)
            ]);
        }
        let row = self
            .query_opt(insert_device_sql(quotas.len()), p)?
            .ok_or_else(|| StoreError("postgres: the device insert returned no row".into()))?;
        for (i, quota) in quotas.iter().enumerate() {
            let count: Option<i64> = row.try_get(i).map_err(super::db)?;
            if count.is_none_or(|n| n > i64::from(quota.limit)) {
                return Ok(Insertion::OverQuota(i));
            }
        }
        let inserted: i64 = row.try_get(quotas.len()).map_err(super::db)?;
        Ok(if inserted == 1 {
            Insertion::Inserted
        } else {
            Insertion::CodeTaken
        })
    }

    fn device_by_id(&self, id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        self.query_opt(DEVICE_BY_ID, params![id.to_owned()])?
            .map(|r| rows::device(&r))
            .transpose()
    }

    fn device_by_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        self.query_opt(DEVICE_BY_CODE, params![h.to_vec()])?
            .map(|r| rows::device(&r))
            .transpose()
    }

    fn device_by_user_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        self.query_opt(DEVICE_BY_USER_CODE, params![h.to_vec()])?
            .map(|r| rows::device(&r))
            .transpose()
    }

    fn set_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        subject: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self.execute(
            SET_STATUS,
            params![
                id.to_owned(),
                from.as_str(),
                to.as_str(),
                subject.map(str::to_owned)
            ],
        )?;
        Ok(n == 1)
    }

    fn record_poll(
        &self,
        id: &str,
        previous: Option<i64>,
        now_ms: i64,
        slow_down: bool,
    ) -> Result<bool, StoreError> {
        let n = self.execute(
            RECORD_POLL,
            params![id.to_owned(), previous, now_ms, i32::from(slow_down)],
        )?;
        Ok(n == 1)
    }

    fn redeem(
        &self,
        id: &str,
        tokens: &[TokenRecord],
        redeemed_at_ms: i64,
        sealed_response: &[u8],
    ) -> Result<bool, StoreError> {
        self.transition(
            REDEEM,
            params![id.to_owned(), redeemed_at_ms, sealed_response.to_vec()],
            tokens,
        )
    }

    fn token(&self, h: &Digest32) -> Result<Option<TokenRecord>, StoreError> {
        self.query_opt(TOKEN, params![h.to_vec()])?
            .map(|r| rows::token(&r))
            .transpose()
    }

    fn rotate(&self, old: &Digest32, tokens: &[TokenRecord]) -> Result<bool, StoreError> {
        self.transition(ROTATE, params![old.to_vec()], tokens)
    }

    fn revoke_token(&self, h: &Digest32) -> Result<(), StoreError> {
        self.execute(REVOKE_TOKEN, params![h.to_vec()]).map(drop)
    }

    fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        self.execute(REVOKE_GRANT, params![grant_id.to_owned()])
            .map(drop)
    }

    fn bump_counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        let row = self
            .query_opt(BUMP_COUNTER, params![key.to_owned(), window_start_ms])?
            .ok_or_else(|| StoreError("postgres: the counter upsert returned no row".into()))?;
        let count: i64 = row.try_get(0).map_err(super::db)?;
        Ok(counter_value(count))
    }

    fn counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        match self.query_opt(COUNTER, params![key.to_owned(), window_start_ms])? {
            Some(row) => Ok(counter_value(row.try_get(0).map_err(super::db)?)),
            None => Ok(0),
        }
    }

    fn purge(&self, before_ms: i64) -> Result<(), StoreError> {
        for sql in [PURGE_DEVICES, PURGE_SEALED, PURGE_TOKENS, PURGE_COUNTERS] {
            self.execute(sql, params![before_ms])?;
        }
        Ok(())
    }

    fn grants_of(&self, subject: &str, now_ms: i64) -> Result<Vec<GrantSummary>, StoreError> {
        self.query(GRANTS_OF, params![subject.to_owned(), now_ms])?
            .iter()
            .map(|r| {
                Ok(GrantSummary {
                    grant_id: r.try_get(0).map_err(super::db)?,
                    client_id: r.try_get(1).map_err(super::db)?,
                    scope: r.try_get(2).map_err(super::db)?,
                    device_source: r.try_get(3).map_err(super::db)?,
                    approved_at_ms: r.try_get(4).map_err(super::db)?,
                    last_used_ms: r.try_get(5).map_err(super::db)?,
                })
            })
            .collect()
    }

    fn pending_count(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let row = self
            .query_opt(PENDING_COUNT, params![now_ms])?
            .ok_or_else(|| StoreError("COUNT returned no row".into()))?;
        let n: i64 = row.try_get(0).map_err(super::db)?;
        Ok(Some(n.max(0) as u64))
    }

    fn secret(&self, name: &str, fresh: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        self.execute(INSERT_SECRET, params![name.to_owned(), fresh.to_vec()])?;
        let row = self
            .query_opt(SECRET, params![name.to_owned()])?
            .ok_or_else(|| StoreError(format!("secret {name} vanished")))?;
        let value: Vec<u8> = row.try_get(0).map_err(super::db)?;
        value
            .try_into()
            .map_err(|_| StoreError(format!("secret {name} is not 32 bytes")))
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.query(SIGNING_KEYS, params![])?
            .iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    generation: r.try_get(0).map_err(super::db)?,
                    kid: r.try_get(1).map_err(super::db)?,
                    created_at_ms: r.try_get(2).map_err(super::db)?,
                    private_key: r.try_get(3).map_err(super::db)?,
                })
            })
            .collect()
    }

    fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        let n = self.execute(
            INSERT_SIGNING_KEY,
            params![
                key.generation,
                key.kid.clone(),
                key.created_at_ms,
                key.private_key.clone()
            ],
        )?;
        Ok(n == 1)
    }

    fn delete_signing_key(&self, generation: i64) -> Result<(), StoreError> {
        self.execute(DELETE_SIGNING_KEY, params![generation])
            .map(drop)
    }
}
