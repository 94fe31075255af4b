//! Group commit for device authorizations: inserts made while a group is open share one
//! transaction, so requests that arrive together pay for one commit (one set of WAL frames, one
//! round of locks) instead of one each. The group's transaction holds the write lock and its
//! inserts run one after another on this one connection, so each answer (`Inserted`,
//! `CodeTaken`, `OverQuota`) is exactly what it would be alone; only its durability waits for
//! the group's `COMMIT`, which `commit_through` (or any other call on the store, or dropping it)
//! makes. The host answers the request only after that.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;

use rusqlite::Connection;

use super::err;
use crate::engine::{CommitTicket, StoreError};

/// How many failed groups are remembered for callers that have not asked yet (a failed commit is
/// an I/O error: rare; a caller that asks later than this many failures gets `Ok`, which is why
/// the number is generous).
const FAILED_KEPT: usize = 1024;

/// The connection and the state of its open group.
pub(super) struct Conn {
    pub(super) db: Connection,
    /// The number of the open group (a transaction holding uncommitted inserts), if any.
    open: Option<u64>,
    /// The number the next group gets.
    next: u64,
    /// Groups whose commit failed, with the reason, oldest first.
    failed: VecDeque<(u64, String)>,
}

impl Conn {
    pub(super) fn new(db: Connection) -> Self {
        Conn {
            db,
            open: None,
            next: 1,
            failed: VecDeque::new(),
        }
    }

    /// The open group's number, opening one (`BEGIN IMMEDIATE`: the write lock now, so no insert
    /// of the group can fail for another process's lock later) if there is none.
    pub(super) fn group(&mut self) -> Result<u64, StoreError> {
        if let Some(n) = self.open {
            return Ok(n);
        }
        self.db
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
            .map_err(err)?;
        let n = self.next;
        self.next += 1;
        self.open = Some(n);
        Ok(n)
    }

    /// Runs `f` in the open group. An error from it rolls the whole group back (a storage
    /// error leaves no part of a call behind: the group's members then get the error from
    /// `commit_through`), so `f` needs no savepoint of its own (a savepoint copies every page it
    /// touches: measured, the larger part of an insert's CPU time in memory).
    pub(super) fn in_group<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<(T, CommitTicket), StoreError> {
        let n = self.group()?;
        match f(&self.db) {
            Ok(v) => Ok((v, CommitTicket(n))),
            Err(e) => {
                if !self.db.is_autocommit() {
                    let _ = self.db.execute_batch("ROLLBACK");
                }
                self.fail(n, e.0.clone());
                Err(e)
            }
        }
    }

    fn run(&self, sql: &str) -> Result<(), StoreError> {
        self.db
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(err)
    }

    /// Commits the open group, if any (a failure is remembered for its members).
    pub(super) fn commit_open(&mut self) {
        let Some(n) = self.open.take() else { return };
        if self.db.is_autocommit() {
            return self.fail(n, "the transaction was rolled back".into());
        }
        if let Err(e) = self.run("COMMIT") {
            if !self.db.is_autocommit() {
                let _ = self.db.execute_batch("ROLLBACK");
            }
            self.fail(n, e.0);
        }
    }

    fn fail(&mut self, n: u64, why: String) {
        self.open = None;
        tracing::error!(group = n, error = %why, "SQLite group commit failed");
        if self.failed.len() == FAILED_KEPT {
            self.failed.pop_front();
        }
        self.failed.push_back((n, why));
    }

    /// Commits the group of `ticket` unless done; its outcome.
    pub(super) fn commit_through(&mut self, ticket: CommitTicket) -> Result<(), StoreError> {
        if self.open.is_some_and(|n| n <= ticket.0) {
            self.commit_open();
        }
        match self.failed.iter().find(|(n, _)| *n == ticket.0) {
            Some((_, why)) => Err(StoreError(format!("commit failed: {why}"))),
            None => Ok(()),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.commit_open();
    }
}

/// The connection for every call other than a grouped insert: an open group is committed first,
/// so that call's own effects are committed (and made durable) on their own, as before.
pub(super) struct Db<'a>(pub(super) MutexGuard<'a, Conn>);

impl<'a> Db<'a> {
    pub(super) fn new(mut conn: MutexGuard<'a, Conn>) -> Self {
        conn.commit_open();
        Db(conn)
    }
}

impl Deref for Db<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.db
    }
}

impl DerefMut for Db<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0.db
    }
}
