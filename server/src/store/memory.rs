//! An in-memory store: for tests and throwaway servers. One mutex makes every call atomic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::engine::codes::Digest32;
use crate::engine::{
    DeviceRecord, DeviceStatus, GrantSummary, Insertion, Quota, SigningKeyRecord, Store,
    StoreError, TokenRecord, TokenState,
};

#[derive(Default)]
struct Inner {
    devices: HashMap<String, DeviceRecord>,
    by_code: HashMap<Digest32, String>,
    by_user_code: HashMap<Digest32, String>,
    tokens: HashMap<Digest32, TokenRecord>,
    counters: HashMap<String, (i64, u32)>,
    secrets: HashMap<String, [u8; 32]>,
    signing_keys: BTreeMap<i64, SigningKeyRecord>,
}

impl Inner {
    fn bump(&mut self, key: &str, window_start_ms: i64) -> u32 {
        let entry = self
            .counters
            .entry(key.to_owned())
            .or_insert((window_start_ms, 0));
        if entry.0 != window_start_ms {
            *entry = (window_start_ms, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere can't leave a half-done transition: each method finishes under the lock.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every stored device record (tests check that no plaintext code is in them).
    pub fn devices(&self) -> Vec<DeviceRecord> {
        self.lock().devices.values().cloned().collect()
    }

    /// Every stored token record.
    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.lock().tokens.values().cloned().collect()
    }
}

impl Store for MemoryStore {
    fn insert_device(
        &self,
        d: &DeviceRecord,
        quotas: &[Quota<'_>],
    ) -> Result<Insertion, StoreError> {
        let mut s = self.lock();
        if s.by_code.contains_key(&d.device_code_hash)
            || s.by_user_code.contains_key(&d.user_code_hash)
            || s.devices.contains_key(&d.id)
        {
            return Ok(Insertion::CodeTaken);
        }
        for (i, q) in quotas.iter().enumerate() {
            if s.bump(q.key, q.window_start_ms) > q.limit {
                return Ok(Insertion::OverQuota(i));
            }
        }
        s.by_code.insert(d.device_code_hash, d.id.clone());
        s.by_user_code.insert(d.user_code_hash, d.id.clone());
        s.devices.insert(d.id.clone(), d.clone());
        Ok(Insertion::Inserted)
    }

    fn device_by_id(&self, id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.lock().devices.get(id).cloned())
    }

    fn device_by_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        let s = self.lock();
        Ok(s.by_code.get(h).and_then(|id| s.devices.get(id)).cloned())
    }

    fn device_by_user_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        let s = self.lock();
        Ok(s.by_user_code
            .get(h)
            .and_then(|id| s.devices.get(id))
            .cloned())
    }

    fn set_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        subject: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.devices.get_mut(id) {
            Some(d) if d.status == from => {
                d.status = to;
                if let Some(subject) = subject {
                    d.subject = Some(subject.to_owned());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn record_poll(
        &self,
        id: &str,
        previous: Option<i64>,
        now_ms: i64,
        slow_down: bool,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.devices.get_mut(id) {
            Some(d) if d.last_poll_ms == previous => {
                d.last_poll_ms = Some(now_ms);
                d.slow_downs += u32::from(slow_down);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn redeem(
        &self,
        id: &str,
        tokens: &[TokenRecord],
        redeemed_at_ms: i64,
        sealed_response: &[u8],
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.devices.get_mut(id) {
            Some(d) if d.status == DeviceStatus::Approved => {
                d.status = DeviceStatus::Consumed;
                d.redeemed_at_ms = Some(redeemed_at_ms);
                d.sealed_response = Some(sealed_response.to_vec());
            }
            _ => return Ok(false),
        }
        for t in tokens {
            s.tokens.insert(t.hash, t.clone());
        }
        Ok(true)
    }

    fn token(&self, h: &Digest32) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.lock().tokens.get(h).cloned())
    }

    fn rotate(&self, old: &Digest32, tokens: &[TokenRecord]) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.tokens.get_mut(old) {
            Some(t) if t.state == TokenState::Active => t.state = TokenState::Rotated,
            _ => return Ok(false),
        }
        for t in tokens {
            s.tokens.insert(t.hash, t.clone());
        }
        Ok(true)
    }

    fn revoke_token(&self, h: &Digest32) -> Result<(), StoreError> {
        if let Some(t) = self.lock().tokens.get_mut(h) {
            t.state = TokenState::Revoked;
        }
        Ok(())
    }

    fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        for t in self.lock().tokens.values_mut() {
            if t.grant_id == grant_id {
                t.state = TokenState::Revoked;
            }
        }
        Ok(())
    }

    fn bump_counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        Ok(self.lock().bump(key, window_start_ms))
    }

    fn counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        Ok(match self.lock().counters.get(key) {
            Some(&(start, n)) if start == window_start_ms => n,
            _ => 0,
        })
    }

    fn grants_of(&self, subject: &str, now_ms: i64) -> Result<Vec<GrantSummary>, StoreError> {
        let s = self.lock();
        let mut out: Vec<GrantSummary> = s
            .devices
            .values()
            .filter(|d| d.status == DeviceStatus::Consumed && d.subject.as_deref() == Some(subject))
            .filter_map(|d| {
                let tokens: Vec<&TokenRecord> =
                    s.tokens.values().filter(|t| t.grant_id == d.id).collect();
                let live = tokens
                    .iter()
                    .any(|t| t.state == TokenState::Active && t.expires_at_ms > now_ms);
                live.then(|| GrantSummary {
                    grant_id: d.id.clone(),
                    client_id: d.client_id.clone(),
                    scope: d.scope.clone(),
                    device_source: d.source.clone(),
                    approved_at_ms: tokens.iter().map(|t| t.issued_at_ms).min().unwrap_or(0),
                    last_used_ms: tokens.iter().map(|t| t.issued_at_ms).max().unwrap_or(0),
                })
            })
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.last_used_ms));
        out.truncate(100);
        Ok(out)
    }

    fn is_local(&self) -> bool {
        true
    }

    fn pending_count(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let s = self.lock();
        let n = s
            .devices
            .values()
            .filter(|d| d.status == DeviceStatus::Pending && d.expires_at_ms > now_ms)
            .count();
        Ok(Some(n as u64))
    }

    fn purge(&self, before_ms: i64) -> Result<(), StoreError> {
        let mut s = self.lock();
        let live_grants: std::collections::HashSet<String> = s
            .tokens
            .values()
            .filter(|t| t.expires_at_ms >= before_ms)
            .map(|t| t.grant_id.clone())
            .collect();
        let gone: Vec<DeviceRecord> = s
            .devices
            .values()
            .filter(|d| d.expires_at_ms < before_ms && !live_grants.contains(&d.id))
            .cloned()
            .collect();
        for d in s.devices.values_mut() {
            if d.redeemed_at_ms.is_some_and(|at| at < before_ms) {
                d.sealed_response = None;
            }
        }
        for d in gone {
            s.devices.remove(&d.id);
            s.by_code.remove(&d.device_code_hash);
            s.by_user_code.remove(&d.user_code_hash);
        }
        s.tokens.retain(|_, t| t.expires_at_ms >= before_ms);
        s.counters.retain(|_, (start, _)| *start >= before_ms);
        Ok(())
    }

    fn secret(&self, name: &str, fresh: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        Ok(*self.lock().secrets.entry(name.to_owned()).or_insert(*fresh))
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        Ok(self.lock().signing_keys.values().cloned().collect())
    }

    fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let taken = s.signing_keys.contains_key(&key.generation)
            || s.signing_keys.values().any(|k| k.kid == key.kid);
        if !taken {
            s.signing_keys.insert(key.generation, key.clone());
        }
        Ok(!taken)
    }

    fn delete_signing_key(&self, generation: i64) -> Result<(), StoreError> {
        self.lock().signing_keys.remove(&generation);
        Ok(())
    }
}
