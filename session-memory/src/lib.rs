//! An in-process [`SessionStore`](session_core::SessionStore) on [moka](https://docs.rs/moka):
//! the embedded default for single-process applications, demos and tests.
//!
//! - Each entry expires at its own absolute time (moka's per-entry `Expiry`), and reads check the
//!   expiry themselves, so an expired session is never returned even if moka has not evicted it yet.
//! - Capacity is bounded by **bytes** (key + encoded record + bookkeeping), not by entry count;
//!   when full, the **least recently used** session is evicted (moka's LRU policy), so a new
//!   login is always kept.
//! - Every write to a key (changed `set`, `write_if`, touch, rolling read, `destroy`) goes through
//!   one per-key serialising path, so a touch racing a `destroy` can never resurrect the session,
//!   a touch racing a changed `set` can never overwrite the new data, and a `write_if` compares
//!   the version and writes with nothing in between. A rolling read whose entry's expiry is
//!   within the [expiry resolution](MemoryStoreBuilder::expiry_resolution) of `now + max_age`
//!   (default: 1 % of the max-age, at most 60 s) writes nothing: it is a plain lookup.
//! - A read hands out the stored session without copying it: `SessionData` clones share the
//!   object until one of them changes it.
//!
//! Sessions live only as long as the process and are not shared between processes: use
//! `session-redis`, `session-mongo` or `session-mysql` when several instances serve one site.
//!
//! ```
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> session_core::Result<()> {
//! let store = MemoryStore::builder().max_bytes(16 * 1024 * 1024).build();
//! let key = SessionKey::generate();
//! let mut data = SessionData::new();
//! data.insert("visits", 1)?;
//! store.set(&key, &data, Duration::hours(1), true).await?;
//! assert_eq!(store.get(&key, Duration::hours(1), false).await?, Some(data));
//! # Ok(())
//! # }
//! ```

mod scan;
mod store;

pub use store::{DEFAULT_MAX_BYTES, ENTRY_OVERHEAD_BYTES, MemoryStore, MemoryStoreBuilder};
