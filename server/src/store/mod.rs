//! [`Store`](crate::engine::Store) implementations.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;
