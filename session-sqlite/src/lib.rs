//! A [`SessionStore`](session_core::SessionStore) in an SQLite database file, through
//! [`sqlx`]: for single-process applications that want sessions to survive a restart without
//! running a database server. (Several processes on one machine may share the file too; SQLite
//! serializes their writes.)
//!
//! One row per session in a table (default [`DEFAULT_TABLE`]), created by
//! [`SqliteStore::migrate`] from [`SCHEMA_SQL`] (the crate's `schema.sql`): `id` (primary key),
//! `data` (`BLOB`, the encoded record, the same bytes as every other backend stores),
//! `expires_at` (epoch milliseconds, indexed) and `version` (what the conditional write
//! compares; 0 for rows from before versions).
//!
//! The file is opened in WAL mode with `synchronous = NORMAL` and a busy timeout (see
//! [`SqliteStore::options`]): readers and the writer do not block each other, a committed
//! session survives the process being killed, and concurrent writers queue for SQLite's single
//! write lock instead of failing.
//!
//! | operation | statement |
//! |---|---|
//! | `get`, `load` | `SELECT data, version … WHERE id = ?1 AND expires_at > ?2` |
//! | rolling `get` | `SELECT data, version, expires_at … WHERE id = ?1 AND expires_at > ?2`; only when the expiry lags by more than the [expiry resolution](SqliteStore::with_expiry_resolution) (default: 1 % of the max-age, at most 60 s), `UPDATE … SET expires_at = ?1 WHERE id = ?2 AND expires_at > ?3 RETURNING data, version` (that statement alone with `ExpiryResolution::Exact`) |
//! | `set`, changed | `INSERT … ON CONFLICT (id) DO UPDATE SET data = excluded.data, …` |
//! | `write_if` | `UPDATE … SET data = CASE WHEN version = ?1 THEN ?2 ELSE data END, … RETURNING version`: no row is missing, the new version is written, another is a conflict |
//! | `set`, unchanged (touch) | `UPDATE … SET expires_at = ?1 WHERE id = ?2 AND expires_at > ?3`: never re-creates a destroyed or expired session |
//! | `destroy` | `DELETE … WHERE id = ?1` |
//! | [`cleanup_expired`](SqliteStore::cleanup_expired) | `DELETE … WHERE id IN (SELECT id … WHERE expires_at <= ?1 LIMIT n)`, repeated |
//!
//! Expiry comparisons bind the application's clock ([`session_core::now_ms`]); SQLite's own
//! date functions are never used.
//!
//! ```no_run
//! use std::time::Duration as StdDuration;
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_sqlite::SqliteStore;
//!
//! # async fn run() -> session_core::Result<()> {
//! let store = SqliteStore::open("/var/lib/myapp/sessions.db").await?;
//! store.migrate().await?;
//! // Expired rows are invisible to reads at once; this reclaims their space.
//! let _cleanup = store.spawn_cleanup(StdDuration::from_secs(300), 1_000);
//!
//! let key = SessionKey::generate();
//! let mut data = SessionData::new();
//! data.insert("user_id", 42)?;
//! store.set(&key, &data, Duration::hours(12), true).await?;
//! assert_eq!(store.get(&key, Duration::hours(12), true).await?, Some(data));
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! - **Busy**: a writer that waited [`DEFAULT_BUSY_TIMEOUT`] for the write lock, and still gets
//!   `SQLITE_BUSY` after a few more attempts, fails with
//!   [`Error::Unavailable`](session_core::Error::Unavailable) (transient); nothing was written.
//! - **Slow**: every operation ends with [`Error::Timeout`](session_core::Error::Timeout) after
//!   the per-operation timeout ([`DEFAULT_TIMEOUT`]).
//! - **Unusable file** (missing directory, no permission, not a database, disk full):
//!   [`Error::Backend`](session_core::Error::Backend), permanent.
//! - **Corrupted row**: `get` returns [`Error::Decode`](session_core::Error::Decode) and leaves the
//!   row alone.
//! - **Too large**: [`Error::TooLarge`](session_core::Error::TooLarge) before any I/O.

mod cleanup;
mod connect;
mod error;
mod queries;
mod schema;
mod store;

pub use connect::DEFAULT_BUSY_TIMEOUT;
pub use schema::SCHEMA_SQL;
pub use session_sql::{CleanupTask, MAX_CLEANUP_BATCH, MAX_RECORD_BYTES_CAP};
pub use sqlx;
pub use store::{DEFAULT_TABLE, DEFAULT_TIMEOUT, SqliteStore};
