//! [`Store`](crate::engine::Store) implementations.

mod memory;
pub mod postgres;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::SqliteStore;
