//! Rows into records, and records into the parameters of their `INSERT`.

use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use crate::engine::codes::Digest32;
use crate::engine::{DeviceRecord, DeviceStatus, StoreError, TokenKind, TokenRecord, TokenState};

/// The columns of `devices`, in the order `device` reads them.
macro_rules! device_columns {
    () => {
        "id, device_code_hash, user_code_hash, client_id, scope, created_at_ms, expires_at_ms, \
         interval_ms, status, subject, last_poll_ms, slow_downs, source, redeemed_at_ms, \
         sealed_response"
    };
}
pub(super) use device_columns;

/// The columns of `tokens`, in the order `token` reads them.
macro_rules! token_columns {
    () => {
        "hash, kind, grant_id, client_id, scope, subject, issued_at_ms, expires_at_ms, \
         grant_expires_at_ms, state"
    };
}
pub(super) use token_columns;

fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|e| StoreError(format!("postgres: column {i}: {e}")))
}

fn digest(row: &Row, i: usize) -> Result<Digest32, StoreError> {
    get::<Vec<u8>>(row, i)?
        .try_into()
        .map_err(|_| StoreError(format!("postgres: column {i} is not a 32-byte hash")))
}

fn bad(what: &str, value: &str) -> StoreError {
    StoreError(format!("postgres: unknown {what} {value:?}"))
}

pub(super) fn device(row: &Row) -> Result<DeviceRecord, StoreError> {
    let status: String = get(row, 8)?;
    let slow_downs: i32 = get(row, 11)?;
    Ok(DeviceRecord {
        id: get(row, 0)?,
        device_code_hash: digest(row, 1)?,
        user_code_hash: digest(row, 2)?,
        client_id: get(row, 3)?,
        scope: get(row, 4)?,
        created_at_ms: get(row, 5)?,
        expires_at_ms: get(row, 6)?,
        interval_ms: get(row, 7)?,
        status: DeviceStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        subject: get(row, 9)?,
        last_poll_ms: get(row, 10)?,
        slow_downs: u32::try_from(slow_downs).map_err(|_| bad("slow_downs", "< 0"))?,
        source: get(row, 12)?,
        redeemed_at_ms: get(row, 13)?,
        sealed_response: get(row, 14)?,
    })
}

pub(super) fn token(row: &Row) -> Result<TokenRecord, StoreError> {
    let kind: String = get(row, 1)?;
    let state: String = get(row, 9)?;
    Ok(TokenRecord {
        hash: digest(row, 0)?,
        kind: match kind.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            _ => return Err(bad("token kind", &kind)),
        },
        grant_id: get(row, 2)?,
        client_id: get(row, 3)?,
        scope: get(row, 4)?,
        subject: get(row, 5)?,
        issued_at_ms: get(row, 6)?,
        expires_at_ms: get(row, 7)?,
        grant_expires_at_ms: get(row, 8)?,
        state: TokenState::parse(&state).ok_or_else(|| bad("token state", &state))?,
    })
}

pub(super) fn kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// `tokens` as one array per column, for a single `INSERT … SELECT * FROM unnest(…)`.
#[derive(Default)]
pub(super) struct TokenColumns {
    pub hash: Vec<Vec<u8>>,
    pub kind: Vec<&'static str>,
    pub grant_id: Vec<String>,
    pub client_id: Vec<String>,
    pub scope: Vec<String>,
    pub subject: Vec<String>,
    pub issued_at_ms: Vec<i64>,
    pub expires_at_ms: Vec<i64>,
    pub grant_expires_at_ms: Vec<i64>,
    pub state: Vec<&'static str>,
}

impl TokenColumns {
    pub(super) fn new(tokens: &[TokenRecord]) -> Self {
        let mut c = TokenColumns::default();
        for t in tokens {
            c.hash.push(t.hash.to_vec());
            c.kind.push(kind_str(t.kind));
            c.grant_id.push(t.grant_id.clone());
            c.client_id.push(t.client_id.clone());
            c.scope.push(t.scope.clone());
            c.subject.push(t.subject.clone());
            c.issued_at_ms.push(t.issued_at_ms);
            c.expires_at_ms.push(t.expires_at_ms);
            c.grant_expires_at_ms.push(t.grant_expires_at_ms);
            c.state.push(t.state.as_str());
        }
        c
    }

    pub(super) fn len(&self) -> usize {
        self.hash.len()
    }
}
