//! What the SQL session backends (`session-mysql`, `session-postgres`, `session-sqlite`) share,
//! with no database driver of its own: table-name validation, reading a shipped `schema.sql`,
//! per-operation timeouts with retries of statements the database rolled back, and the
//! background cleanup task.
//!
//! Each backend crate keeps its own driver, its database's error codes and SQL; this crate only
//! holds the parts that do not depend on either, and macros (the store operations, the settings,
//! the reading of sqlx's errors) that each backend expands against its own `sqlx`.

mod batches;
mod classify;
mod cleanup;
mod connect;
mod schema;
mod settings;
mod store;
mod timed;
mod version;

pub use batches::MAX_CLEANUP_BATCH;
pub use cleanup::{CleanupTask, StopSignal, spawn_cleanup};
pub use connect::CONNECT_ACQUIRE_TIMEOUT;
pub use schema::{
    assert_rendered_for_app_sessions, assert_schema_file, render_schema, schema_statements,
    validate_table_name,
};
pub use settings::Statements;
pub use timed::{Classify, timed, timed_retry};
/// The largest record the SQL stores accept, whatever `with_max_record_bytes` asks: 64 MiB.
/// (PostgreSQL's `BYTEA` and SQLite's `BLOB` hold far more, but a session that large is a bug.)
/// MySQL's store caps lower, at its `MEDIUMBLOB` column's 16 MiB − 1.
pub const MAX_RECORD_BYTES_CAP: usize = 64 * 1024 * 1024;

pub use version::{loaded_row, version_from_column, version_to_column};
