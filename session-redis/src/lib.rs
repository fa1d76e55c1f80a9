//! Redis and Redis Cluster backend for server-side web sessions.
//!
//! [`RedisStore`] implements [`SessionStore`](session_core::SessionStore) on the
//! [`redis`] crate (async, tokio): a single node through a
//! [`ConnectionManager`](redis::aio::ConnectionManager), or a Redis Cluster through the
//! crate's [async cluster client](redis::cluster_async::ClusterConnection). One store type
//! serves both.
//!
//! # Commands
//!
//! | store call | Redis command |
//! |---|---|
//! | `get(k, _, false)` | `GET prefix+k` |
//! | `get(k, max_age, true)` | `GETEX prefix+k PX ms` (read and extend in one round trip) |
//! | `load(k, …)` | as `get`; the version is read from the record header |
//! | `set(k, data, max_age, true)` | `SET prefix+k record PX ms` |
//! | `write_if(k, data, max_age, v)` | `EVALSHA` of a short Lua script (`EVAL` after a `NOSCRIPT`): `GET`, compare the record's first bytes with the expected version's header as a string, `SET … PX` on a match |
//! | `set(k, _, max_age, false)` | `PEXPIRE prefix+k ms` (a no-op on a missing key: never re-creates) |
//! | `destroy(k)` | `DEL prefix+k` |
//!
//! Every call touches exactly one key, so every call works unchanged on a cluster. The store never
//! uses `KEYS`.
//!
//! # Settings
//!
//! | setting | default |
//! |---|---|
//! | [`with_prefix`](RedisStore::with_prefix) | [`DEFAULT_PREFIX`] (`"sess:"`) |
//! | [`with_timeout`](RedisStore::with_timeout) | [`DEFAULT_TIMEOUT`] (2 s per operation) |
//! | [`with_max_record_bytes`](RedisStore::with_max_record_bytes) | [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES) (1 MiB) |
//!
//! # Failure behaviour
//!
//! - **Server down.** [`RedisStore::connect`] and [`RedisStore::connect_cluster`] fail within
//!   the timeout with [`Error::Unavailable`](session_core::Error::Unavailable) (connection
//!   refused) or [`Error::Timeout`](session_core::Error::Timeout) (no answer). On a connected
//!   store each operation fails the same way; both errors are
//!   [transient](session_core::Error::is_transient), so the middleware can answer 503.
//! - **Server stalls** (paused, overloaded, network black hole). Every operation is wrapped in the
//!   per-operation timeout, so callers get [`Error::Timeout`](session_core::Error::Timeout) after
//!   at most that long instead of hanging. The write of a timed-out `set` may or may not have
//!   reached the server.
//! - **Server restarts or the connection drops.** The `ConnectionManager` (and the cluster
//!   client) reconnect by themselves in the background; the store retries an operation once when
//!   the driver reports a dropped connection, so a single reset is usually invisible. While the
//!   server stays away, operations fail with transient errors, and the same store object
//!   recovers once it is back: no restart of the application is needed.
//! - **Unreadable records** (garbage, another program's value, a newer format version) give
//!   [`Error::Decode`](session_core::Error::Decode); the middleware treats that as "no session".
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration as StdDuration;
//!
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_redis::RedisStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> session_core::Result<()> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379")
//!     .await?
//!     .with_prefix("myapp:sess:")
//!     .with_timeout(StdDuration::from_millis(500));
//! // Or: RedisStore::connect_cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]).await?
//!
//! let key = SessionKey::generate();
//! let mut data = SessionData::new();
//! data.insert("user", "alice")?;
//! store.set(&key, &data, Duration::hours(1), true).await?;
//! assert_eq!(store.get(&key, Duration::hours(1), true).await?, Some(data));
//! store.destroy(&key).await?;
//! # Ok(())
//! # }
//! ```

mod connect;
mod connection;
mod error;
mod sentinel;
mod store;

pub use redis;
pub use store::{DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisStore};
