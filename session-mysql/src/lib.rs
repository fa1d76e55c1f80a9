//! A [`SessionStore`](session_core::SessionStore) on MySQL 8 or MariaDB 10.11+, through
//! [`sqlx`].
//!
//! One row per session in a table (default [`DEFAULT_TABLE`]), created by
//! [`MySqlStore::migrate`] or by hand from [`SCHEMA_SQL`] (the crate's `schema.sql`):
//!
//! | column | type | why |
//! |---|---|---|
//! | `id` | `VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin`, primary key | keys are ASCII; binary collation keeps `abc` and `ABC` distinct |
//! | `data` | `MEDIUMBLOB` | the encoded record; `BLOB` would silently cap at 64 KiB |
//! | `expires_at` | `BIGINT`, indexed | epoch milliseconds, for the filter on every read and for cleanup |
//! | `version` | `BIGINT UNSIGNED`, default 0 | the record version the conditional write compares; 0 for rows from before versions |
//! | `owner` | `CHAR(32) CHARACTER SET ascii`, nullable, indexed (not with `expires_at`, so a touch never updates this index) | the [`OwnerIndex`](session_core::OwnerIndex) of a session with an owner: the owner index is the rows themselves, so it cannot leak (expired rows leave it with the cleanup) |
//!
//! Every expiry comparison binds the application's clock ([`session_core::now_ms`]) as a
//! parameter; the database's `NOW()` is never used, so time zones and clock skew between
//! application and database cannot change session lifetimes.
//!
//! | operation | statements |
//! |---|---|
//! | `get`, `load` | `SELECT data, version … WHERE id = ? AND expires_at > ?` |
//! | rolling `get` | `SELECT data, version, expires_at … WHERE id = ? AND expires_at > ?`; only when the expiry lags by more than the [expiry resolution](MySqlStore::with_expiry_resolution) (default: 1 % of the max-age, at most 60 s), `UPDATE … SET expires_at = ? WHERE id = ? AND expires_at > ?`, then the `SELECT` if a row matched (always so with `ExpiryResolution::Exact`) |
//! | `set`, changed | `INSERT … ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at), version = VALUES(version)` |
//! | `write_if` | one `UPDATE … SET data = IF(version = ?, ?, data), …, version = LAST_INSERT_ID(IF(version = ?, ?, version)) WHERE id = ? AND expires_at > ?`: no matched row is missing, the new version in the reply is written, another is a conflict |
//! | `set`, unchanged (touch) | the `UPDATE` above only: never re-creates a destroyed or expired session |
//! | `destroy` | `DELETE … WHERE id = ?` |
//! | `list_owned` | `SELECT id, data, expires_at … WHERE owner = ? AND expires_at > ?` |
//! | `destroy_owned` | `DELETE … WHERE owner = ? AND expires_at > ? AND id <> ? LIMIT 1000`, repeated while a batch is full |
//! | [`cleanup_expired`](MySqlStore::cleanup_expired) | `SELECT id … WHERE expires_at <= ? LIMIT n`, then `DELETE … WHERE expires_at <= ? AND id IN (…)`, repeated |
//!
//! ```no_run
//! use std::time::Duration as StdDuration;
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_mysql::MySqlStore;
//!
//! # async fn run() -> session_core::Result<()> {
//! let store = MySqlStore::connect("mysql://app:secret@127.0.0.1:3306/app")
//!     .await?
//!     .with_table_name("web_sessions")?
//!     .with_timeout(StdDuration::from_secs(2));
//! store.migrate().await?;
//! // Expired rows are invisible to reads at once; this reclaims their space.
//! let _cleanup = store.spawn_cleanup(StdDuration::from_secs(300), 5_000);
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
//! # When the server misbehaves
//!
//! - **Down or unreachable**: [`MySqlStore::connect`] fails at once with
//!   [`Error::Unavailable`](session_core::Error::Unavailable). Later operations fail with
//!   `Unavailable` once the pool gives up waiting for a connection (3 s for a pool built by
//!   `connect`), or with [`Error::Timeout`](session_core::Error::Timeout) if the per-operation
//!   timeout ([`DEFAULT_TIMEOUT`], 5 s) comes first. Both are transient
//!   ([`Error::is_transient`](session_core::Error::is_transient)): answer 503 or retry.
//! - **Stalled** (accepts connections, never answers, or a lock wait): every operation ends with
//!   `Timeout` after the per-operation timeout; nothing hangs a request forever.
//! - **Restarted**: the same store recovers by itself. The pool pings a connection before handing
//!   it out and replaces dead ones; a statement already in flight when the server went away fails
//!   once with `Unavailable`. Nothing needs to be rebuilt.
//! - **Lock conflicts**: InnoDB may roll back a statement as the victim of a deadlock (1213) or
//!   a lock wait timeout (1205), for example against another application's transaction that
//!   locks ranges of the expiry index. Every statement runs alone in autocommit mode, so the
//!   store runs it again (up to 5 times in all, within the per-operation timeout) and reports a
//!   conflict that outlasts that as `Unavailable` (transient), never as a permanent error. The
//!   store's own statements, the cleanup included, lock a row before its index entry, so they
//!   do not deadlock with each other that way.
//! - **Corrupted row**: `get` returns [`Error::Decode`](session_core::Error::Decode) and leaves the
//!   row alone; other sessions are unaffected.
//! - **Too large**: records above the configured limit fail with
//!   [`Error::TooLarge`](session_core::Error::TooLarge) before any I/O; nothing is ever truncated.
//!
//! # MySQL 8 versus MariaDB
//!
//! The same schema and statements run on both. Differences worth knowing:
//!
//! - `VALUES(col)` in `ON DUPLICATE KEY UPDATE` is deprecated since MySQL 8.0.20 (warning 1287,
//!   harmless) in favour of a row alias, which MariaDB rejects; the deprecated form is the only
//!   one both accept.
//! - `max_allowed_packet` defaults to 64 MiB on MySQL 8 and 16 MiB on MariaDB 10.11; records
//!   near the 16 MiB `MEDIUMBLOB` limit need it raised on MariaDB.
//! - MySQL 8 may close idle connections with error 4031; the pool treats it as a dropped
//!   connection (transient) and reconnects.

mod cleanup;
mod connect;
mod error;
mod node;
mod queries;
mod scan;
mod schema;
mod store;

pub use cleanup::{CleanupTask, MAX_CLEANUP_BATCH};
pub use node::{EXPRESS_MYSQL_TABLE, ExpressMySqlStore};
pub use schema::SCHEMA_SQL;
pub use sqlx;
pub use store::{DEFAULT_TABLE, DEFAULT_TIMEOUT, MEDIUMBLOB_MAX_BYTES, MySqlStore};
