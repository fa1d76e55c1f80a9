//! Redis and Redis Cluster backend for server-side web sessions.
//!
//! [`RedisStore`] implements [`SessionStore`](session_core::SessionStore) on the
//! [`redis`] crate (async, tokio): a single node through a
//! [`ConnectionManager`](redis::aio::ConnectionManager), or a Redis Cluster through the
//! crate's [async cluster client](redis::cluster_async::ClusterConnection), or the primary that
//! Redis Sentinel names ([`RedisStore::connect_sentinel`]). One store type serves all three.
//!
//! # Commands
//!
//! | store call | Redis command |
//! |---|---|
//! | `get(k, _, false)` | `GET prefix+k` |
//! | `get(k, max_age, true)` | `GET` + `PTTL prefix+k` pipelined (one round trip); only when the TTL lags the max-age by more than the [expiry resolution](RedisStore::with_expiry_resolution), or always with `ExpiryResolution::Exact`: `EVALSHA` of a short Lua script (`GET`, `PEXPIRE`, and for a session with an owner the owner's index entry) |
//! | `load(k, …)` | as `get`; the version is read from the record header |
//! | `set(k, data, max_age, true)` | `SET prefix+k record PX ms`; for a session with an owner a script that also updates the owner's index |
//! | `write_if(k, data, max_age, v)` | `EVALSHA` of a short Lua script (`EVAL` after a `NOSCRIPT`): compare the record's first bytes with the expected version's header as a string, `SET … PX` on a match (and the owner's index entry) |
//! | `set(k, _, max_age, false)` | a script around `PEXPIRE prefix+k ms` (a no-op on a missing key: never re-creates) and the owner's index entry |
//! | `destroy(k)` | `DEL prefix+k` |
//! | `list_owned(o)` | `ZRANGE prefix~owner:<index> 0 -1 WITHSCORES`, then `MGET` per 500 sessions |
//! | `destroy_owned(o, keep)` | the `ZRANGE`, then per 500 sessions `MGET`, `DEL` of those whose header still names the owner, `ZREM` |
//!
//! Every call on a session touches exactly one key, so every call works unchanged on a cluster.
//! The store never uses `KEYS`.
//!
//! # Sessions per user
//!
//! Each owner has a sorted set `prefix + "~owner:" + OwnerIndex` of their session keys scored by
//! expiry, which expires by itself two seconds after its last session: no sweeper, no keyspace
//! notifications, no leak. On a single node the scripts above keep it in the same round trip
//! as the record. On a cluster the set lives in another slot than the sessions, so for a
//! session with an owner the store updates the set first and the record second: a write costs
//! one more round trip, and a touch or rolling read two more (read the owner, extend the set,
//! then the record). If the second step fails, the set only lives longer than needed; a
//! destroyed session or a changed owner leaves a stale member behind until it expires. Neither
//! ever shows: listing and ending read every member's record and act only on live ones that
//! still name the owner, so a listing never returns a dead session and ending a user's
//! sessions never misses a live one. Sessions without an owner cost nothing extra.
//!
//! # Settings
//!
//! | setting | default |
//! |---|---|
//! | [`with_prefix`](RedisStore::with_prefix) | [`DEFAULT_PREFIX`] (`"rsess:"`; `"sess:"` before issue 16: set `prefix=sess:` to keep sessions written by older releases) |
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
//! Figures measured on loopback by `integration-tests/tests/redis_failover.rs` (Redis 7.0;
//! sentinels with `down-after-milliseconds 1000`, `failover-timeout 3000`, quorum 2 of 3;
//! cluster nodes with `cluster-node-timeout 1000`; 16 tasks of gets and sets on 300 sessions;
//! debug build on 2 shared cores). Run it with `-- --nocapture` to see them.
//!
//! - **Single node** ([`RedisStore::connect`], `redis://`). No failover: a dead server fails
//!   every operation transiently until it is back; the same store then recovers.
//! - **Sentinel** ([`RedisStore::connect_sentinel`],
//!   `redis+sentinel://h1:26379,h2:26379/name`). The store asks the sentinels for the primary,
//!   checks it with `ROLE`, and moves by itself: after `READONLY`, a refused or a dropped
//!   connection it looks the primary up again and retries the command once (these commands
//!   either did not run or are idempotent); and it listens to every sentinel's announcements.
//!   - *Primary killed* (SIGKILL): the same store served reads and writes again **at most
//!     2.5 s** after the kill (1.3–2.5 s over six runs: ≈ 1 s down-after, then election and
//!     promotion); operations in between failed with transient errors
//!     (`Unavailable`/`Timeout`); no read ever returned another session's data or a
//!     destroyed session. Replication is asynchronous, so writes the
//!     primary acknowledged but had not yet sent to the replica are lost with it: the window
//!     is the replication lag (on loopback below measurement: 0 lost writes in every run;
//!     across a network, typically milliseconds, unbounded if the replica lags).
//!   - *Planned switch* (`SENTINEL FAILOVER`, old primary alive): Redis keeps the old primary
//!     accepting writes for about 10 s after the switch, until Sentinel demotes it, and
//!     discards them then. The store stops using it as soon as the leading sentinel announces
//!     the replica it chose (`+selected-slave`): commands wait until that replica answers as a
//!     primary (at most the 2 s connect timeout), then run there. Measured: **no write went to
//!     the old primary** after the switch was visible, no acknowledged write was lost, and the
//!     slowest write during the switch took 62 ms.
//!   - [`with_replica_ack(n, timeout)`](RedisStore::with_replica_ack) sends `WAIT n timeout`
//!     after every write. `Ok` then means the primary and `n` replicas hold the write in memory
//!     (checked by the test on the replica right after each write); a failover, which promotes
//!     the most up-to-date replica, keeps it: 0 acknowledged writes lost in the kill and the
//!     planned-switch tests. A write too few replicas acknowledge in time fails with
//!     `Unavailable` although the primary applied it. Memory is not disk: losing the primary
//!     and those replicas together can still lose the write. Cost: one more round trip per
//!     write (94–162 µs → 304–341 µs per sequential write, and 22 600–37 200 → 6 400–10 500
//!     writes/s from 16 tasks, over three runs on loopback), and writes fail while fewer than
//!     `n` replicas are attached: with one replica, from the promotion until the old primary
//!     is back as a replica (12.3–13.0 s after a kill with the old primary restarted at once;
//!     10.1–10.8 s after a planned switch, which Redis needs to demote the old primary).
//! - **Cluster** ([`RedisStore::connect_cluster`], `redis+cluster://`). With replicas, the
//!   cluster promotes a replica of a dead primary after `cluster-node-timeout`; the cluster
//!   client follows the new slot owner and the store rebuilds a failing connection in the
//!   background. Killing the primary owning a session: its slot served reads and writes again
//!   **2.1–2.6 s** after the kill, other slots kept working, 0 acknowledged writes lost on
//!   loopback (the same asynchronous-replication window as above applies).
//!   `with_replica_ack` has no effect on a cluster store.
//! - **Managed Redis** (no `CONFIG`, no keyspace notifications, often no Sentinel access): the
//!   store needs neither. It sends only `GET`, `PTTL`, `SET`, `PEXPIRE`, `DEL`,
//!   `EVALSHA`/`SCRIPT LOAD` (and `WAIT` with `with_replica_ack`), one key each, and relies on
//!   Redis' own TTLs for expiry. Use `connect` with the provider's endpoint; its failover is the
//!   provider's, and the store reconnects after a dropped connection like on a single node.
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
mod node;
mod owners;
mod scan;
mod sentinel;
mod store;

pub use node::{CONNECT_REDIS_PREFIX, KOA_REDIS_PREFIX, NodeRedisStore};
pub use redis;
pub use session_core::node::NodeFormat;
pub use store::{DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisStore};
