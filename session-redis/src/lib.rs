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
//! # Deployments
//!
//! Figures measured on loopback by `integration-tests/tests/redis_failover.rs` (Redis 7.0,
//! sentinels with `down-after-milliseconds 1000`, `failover-timeout 3000`, quorum 2 of 3; 16
//! tasks of gets and sets on 300 sessions, debug build, 2 cores).
//!
//! - **Single node** ([`RedisStore::connect`], `redis://`). No failover: a dead server fails
//!   every operation transiently until it is back; the same store then recovers.
//! - **Sentinel** ([`RedisStore::connect_sentinel`], `redis+sentinel://h1:26379,h2:26379/name`).
//!   The store asks the sentinels for the primary, checks it with `ROLE`, and moves on its own:
//!   after `READONLY`, a refused or a dropped connection it looks the primary up again and
//!   retries the command once; and on every sentinel's `+switch-master` announcement.
//!   - *Primary killed* (SIGKILL): the same store served reads and writes again **2.2–2.3 s**
//!     after the kill (≈ 1 s down-after + election + promotion); every operation in between
//!     failed with a transient error (`Unavailable`/`Timeout`); no read returned another
//!     session's data or a destroyed session. Writes are replicated asynchronously: a write
//!     acknowledged by the primary but not yet sent to the replica is lost when the replica is
//!     promoted. On loopback the window was below measurement (0 lost writes in three runs);
//!     across a network it is the replication lag, typically milliseconds.
//!   - *Planned switch* (`SENTINEL FAILOVER`): the old primary stays up and accepts writes for
//!     up to ~10 s until Sentinel demotes it; those writes are lost at its resynchronisation.
//!     Sentinel promotes the replica before it announces the switch, so writes acknowledged in
//!     that interval are lost too (491 of 21 294 in one run, switch visible 0.42 s after the
//!     command). The store moves on the announcement: every write started 100 ms or more
//!     after the switch was visible was on the new primary (13 977 of 13 977); in the first
//!     100 ms some still reached the old one (167), the time the announcement takes to arrive
//!     and the store to reconnect.
//!   - [`with_replica_ack(n, timeout)`](RedisStore::with_replica_ack) sends `WAIT n timeout`
//!     after every write: `Ok` then means the primary and `n` replicas hold the write in
//!     memory, and a failover that promotes one of them keeps it (0 acknowledged writes lost
//!     when the primary was killed). A write that too few replicas acknowledge fails with
//!     `Unavailable` although the primary applied it. While no replica is attached (after the
//!     only replica was promoted, until the old primary returns as a replica) every write
//!     fails: in the test, writes resumed 12.7 s after the kill, once the restarted old primary
//!     had resynchronised. Costs a round trip and the replication delay per write.
//!     It closes the planned-switch window too: a write to a primary whose replica left is not
//!     acknowledged.
//! - **Cluster** ([`RedisStore::connect_cluster`], `redis+cluster://`). With replicas, the
//!   cluster promotes a replica after `cluster-node-timeout`; the cluster client follows the new
//!   slot owner through `MOVED` and its slot map, and the store rebuilds a failing connection in
//!   the background. The conformance suite passes on a 3-primary, 3-replica cluster; the
//!   failover itself is not yet measured by a test. `with_replica_ack` has no effect there.
//! - **Managed Redis** (no `CONFIG`, no keyspace notifications): the store needs neither. It
//!   sends only `GET`, `GETEX`, `SET`, `PEXPIRE`, `DEL`, `EVALSHA`/`SCRIPT LOAD` (and `WAIT`
//!   with `with_replica_ack`), and relies on Redis' own TTLs for expiry.
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
