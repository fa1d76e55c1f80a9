//! A [`SessionStore`](session_core::SessionStore) on PostgreSQL (12 or later), through
//! [`sqlx`].
//!
//! One row per session in a table (default [`DEFAULT_TABLE`]), created by
//! [`PgStore::migrate`] or by hand from [`SCHEMA_SQL`] (the crate's `schema.sql`):
//!
//! | column | type | why |
//! |---|---|---|
//! | `id` | `VARCHAR(128) COLLATE "C"`, primary key | keys are ASCII; the byte-wise collation keeps `abc` and `ABC` distinct |
//! | `data` | `BYTEA` | the encoded record, the same bytes as every other backend stores |
//! | `expires_at` | `BIGINT`, indexed | epoch milliseconds, for the filter on every read and for cleanup |
//! | `version` | `BIGINT`, default 0 | the record version the conditional write compares (its 64 bits as a signed number); 0 for rows from before versions |
//!
//! Every expiry comparison binds the application's clock ([`session_core::now_ms`]) as a
//! parameter; the database's `now()` is never used, so time zones and clock skew between
//! application and database cannot change session lifetimes.
//!
//! | operation | statement (one round trip each) |
//! |---|---|
//! | `get`, `load` | `SELECT data, version … WHERE id = $1 AND expires_at > $2` |
//! | rolling `get` | `SELECT data, version, expires_at … WHERE id = $1 AND expires_at > $2`; only when the expiry lags by more than the [expiry resolution](PgStore::with_expiry_resolution) (default: 1 % of the max-age, at most 60 s), `UPDATE … SET expires_at = $1 WHERE id = $2 AND expires_at > $3 RETURNING data, version` (that statement alone with `ExpiryResolution::Exact`) |
//! | `set`, changed | `INSERT … ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, …` |
//! | `write_if` | `UPDATE … SET data = CASE WHEN version = $1 THEN $2 ELSE data END, … WHERE id = $5 AND expires_at > $6 RETURNING version`: no row is missing, the new version is written, another is a conflict |
//! | `set`, unchanged (touch) | `UPDATE … SET expires_at = $1 WHERE id = $2 AND expires_at > $3`: never re-creates a destroyed or expired session |
//! | `destroy` | `DELETE … WHERE id = $1` |
//! | [`cleanup_expired`](PgStore::cleanup_expired) | `DELETE … WHERE id IN (SELECT id … WHERE expires_at <= $1 LIMIT n FOR UPDATE SKIP LOCKED) AND expires_at <= $1`, repeated |
//!
//! ```no_run
//! use std::time::Duration as StdDuration;
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_postgres::PgStore;
//!
//! # async fn run() -> session_core::Result<()> {
//! let store = PgStore::connect("postgres://app:secret@127.0.0.1:5432/app")
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
//! # Unlogged tables
//!
//! [`PgStore::with_unlogged`] makes `migrate` create the table `UNLOGGED`: writes skip the
//! write-ahead log, so logins, saves and rolling reads are cheaper, but PostgreSQL empties the
//! table after a crash and does not replicate it. See that method for the trade-off.
//!
//! # When the server misbehaves
//!
//! - **Down or unreachable**: [`PgStore::connect`] fails at once with
//!   [`Error::Unavailable`](session_core::Error::Unavailable). Later operations fail with
//!   `Unavailable` once the pool gives up waiting for a connection (3 s for a pool built by
//!   `connect`), or with [`Error::Timeout`](session_core::Error::Timeout) if the per-operation
//!   timeout ([`DEFAULT_TIMEOUT`], 5 s) comes first. Both are transient
//!   ([`Error::is_transient`](session_core::Error::is_transient)): answer 503 or retry.
//! - **Stalled** (accepts connections, never answers, or a lock wait): every operation ends with
//!   `Timeout` after the per-operation timeout; nothing hangs a request forever.
//! - **Restarted**: the same store recovers by itself. The pool pings a connection before handing
//!   it out and replaces dead ones; a statement in flight when the server went away fails once
//!   with `Unavailable` (a shutting-down server's `57P01` included). Nothing needs rebuilding.
//! - **Conflicts**: a statement chosen as a deadlock victim (`40P01`) or failing serialization
//!   (`40001`, under a `SERIALIZABLE` default isolation) was rolled back whole; every statement
//!   runs alone, so the store runs it again (up to 5 times in all, within the per-operation
//!   timeout) and reports a conflict that outlasts that as `Unavailable` (transient).
//! - **Corrupted row**: `get` returns [`Error::Decode`](session_core::Error::Decode) and leaves the
//!   row alone; other sessions are unaffected.
//! - **Too large**: records above the configured limit fail with
//!   [`Error::TooLarge`](session_core::Error::TooLarge) before any I/O.

mod cleanup;
mod connect;
mod error;
mod queries;
mod schema;
mod store;

pub use schema::SCHEMA_SQL;
pub use session_sql::{CleanupTask, MAX_CLEANUP_BATCH, MAX_RECORD_BYTES_CAP};
pub use sqlx;
pub use store::{DEFAULT_TABLE, DEFAULT_TIMEOUT, PgStore};
