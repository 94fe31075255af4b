//! How a synchronous store talks to an async driver.
//!
//! `Store` is synchronous: the engine is sans-IO, the HTTP layer calls it on tokio's blocking pool
//! (`spawn_blocking`), and tests call it from plain threads. tokio-postgres is async, and every
//! connection is a task that must keep being polled. So the store owns a small tokio runtime
//! (two worker threads) that holds the pool and its connection tasks; each call spawns its query
//! onto that runtime and waits on a channel for the answer.
//!
//! Waiting on a channel, unlike `Runtime::block_on`, is allowed on any thread: it never panics
//! inside another runtime (the server opens its store from an async task), and the caller's
//! runtime is never asked to drive the store's sockets, so a busy blocking pool cannot starve
//! the connections it is waiting for.

use std::future::Future;
use std::sync::mpsc;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::engine::StoreError;

pub(super) struct Bridge {
    /// Always `Some` until dropped.
    runtime: Option<Runtime>,
}

impl Bridge {
    pub(super) fn new() -> Result<Self, StoreError> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("deviceflow-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError(format!("starting the database runtime: {e}")))?;
        Ok(Bridge {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the bridge")
            .handle()
    }

    /// Runs `work` on the store's runtime and waits for its answer.
    pub(super) fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError(
                "the database task ended without an answer".into(),
            ))
        })
    }
}

impl Drop for Bridge {
    /// Without waiting: the store may be dropped on a thread of another runtime, where a blocking
    /// shutdown would panic. Open connections are closed as their tasks are dropped.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
