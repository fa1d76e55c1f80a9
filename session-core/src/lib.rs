//! The contract and shared types for server-side web sessions with pluggable storage.
//!
//! Store authors depend on this crate alone; applications depend on one backend crate
//! (`session-memory`, `session-redis`, `session-mongo`, `session-mysql`) or on `session-config`
//! to choose one at run time.
//!
//! # Implementing a store
//!
//! A store implements seven methods of [`SessionStore`] (`load`, `write`, `write_if`, `touch`,
//! `destroy`, and `list_owned` / `destroy_owned` for sessions per user; koa-session's `get` and `set` are provided on top of `load`, `write` and `touch`) with
//! the guarantees written on the trait. Reuse [`encode`] / [`decode`] for the bytes,
//! [`Version::generate`] for a record's new version, [`expires_at`] and [`now_ms`] for the
//! clock, and map driver errors into [`Error`] keeping them as the source. A complete store
//! (a mutex-protected map, correct but without eviction of expired records):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use session_core::{
//!     async_trait, decode, encode, expires_at, max_age_ms, now_ms, Loaded, OwnedSession, Owner,
//!     Result, SessionData, SessionKey, SessionStore, Version, WriteOutcome,
//!     DEFAULT_MAX_RECORD_BYTES,
//! };
//! use time::Duration;
//!
//! #[derive(Debug, Default)]
//! struct MapStore {
//!     records: Mutex<HashMap<String, Vec<u8>>>,
//! }
//!
//! #[async_trait]
//! impl SessionStore for MapStore {
//!     async fn load(&self, key: &SessionKey, max_age: Duration, rolling: bool) -> Result<Option<Loaded>> {
//!         let max_age = max_age_ms(max_age)?;
//!         let mut records = self.records.lock().unwrap();
//!         let Some(bytes) = records.get_mut(key.as_str()) else { return Ok(None) };
//!         let record = decode(bytes)?;
//!         let now = now_ms();
//!         if record.is_expired_at(now) {
//!             return Ok(None);
//!         }
//!         if rolling && !record.version.is_legacy() {
//!             // A new expiry, the same version. (A legacy record keeps its bytes: this store
//!             // keeps the expiry only in the record, and rewriting would change its version.)
//!             *bytes = encode(&record.data, record.version, now + max_age, usize::MAX)?;
//!         }
//!         Ok(Some(Loaded::new(record.data, record.version)))
//!     }
//!
//!     async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
//!         let bytes = encode(data, Version::generate(), expires_at(max_age)?, DEFAULT_MAX_RECORD_BYTES)?;
//!         self.records.lock().unwrap().insert(key.as_str().to_owned(), bytes);
//!         Ok(())
//!     }
//!
//!     async fn write_if(
//!         &self,
//!         key: &SessionKey,
//!         data: &SessionData,
//!         max_age: Duration,
//!         expected: Version,
//!     ) -> Result<WriteOutcome> {
//!         let version = Version::generate();
//!         let bytes = encode(data, version, expires_at(max_age)?, DEFAULT_MAX_RECORD_BYTES)?;
//!         // Compare and write under one lock.
//!         let mut records = self.records.lock().unwrap();
//!         let Some(current) = records.get_mut(key.as_str()) else { return Ok(WriteOutcome::Missing) };
//!         let record = decode(current)?;
//!         if record.is_expired_at(now_ms()) {
//!             return Ok(WriteOutcome::Missing);
//!         }
//!         if record.version != expected {
//!             return Ok(WriteOutcome::Conflict);
//!         }
//!         *current = bytes;
//!         Ok(WriteOutcome::Written(version))
//!     }
//!
//!     async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
//!         let expiry = expires_at(max_age)?;
//!         let mut records = self.records.lock().unwrap();
//!         let Some(bytes) = records.get_mut(key.as_str()) else { return Ok(false) };
//!         // Only an existing, unexpired record gets a new expiry; its data and version stay.
//!         let record = decode(bytes)?;
//!         if record.is_expired_at(now_ms()) {
//!             return Ok(false);
//!         }
//!         if !record.version.is_legacy() {
//!             *bytes = encode(&record.data, record.version, expiry, usize::MAX)?;
//!         }
//!         Ok(true)
//!     }
//!
//!     async fn destroy(&self, key: &SessionKey) -> Result<()> {
//!         self.records.lock().unwrap().remove(key.as_str());
//!         Ok(())
//!     }
//!
//!     // A real store keeps an index owner -> sessions; this one scans its map.
//!     async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
//!         let records = self.records.lock().unwrap();
//!         Ok(records
//!             .iter()
//!             .filter_map(|(key, bytes)| {
//!                 let record = decode(bytes).ok()?;
//!                 let key = SessionKey::parse(key).ok()?;
//!                 OwnedSession::from_record(owner, key, &record.data, record.expires_at, now_ms())
//!             })
//!             .collect())
//!     }
//!
//!     async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
//!         let mut ended = 0;
//!         for session in self.list_owned(owner).await? {
//!             if Some(session.key()) != keep {
//!                 self.destroy(session.key()).await?;
//!                 ended += 1;
//!             }
//!         }
//!         Ok(ended)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let store: std::sync::Arc<dyn SessionStore> = std::sync::Arc::new(MapStore::default());
//! let key = SessionKey::generate();
//! let mut data = SessionData::new();
//! data.insert("user", "alice")?;
//! store.set(&key, &data, Duration::minutes(30), true).await?;
//! assert_eq!(store.get(&key, Duration::minutes(30), true).await?, Some(data.clone()));
//! let loaded = store.load(&key, Duration::minutes(30), false).await?.expect("live");
//! data.insert("n", 1)?;
//! let outcome = store.write_if(&key, &data, Duration::minutes(30), loaded.version).await?;
//! assert!(matches!(outcome, WriteOutcome::Written(_)));
//! // The version moved on: a second write from the same read is a conflict.
//! let again = store.write_if(&key, &data, Duration::minutes(30), loaded.version).await?;
//! assert_eq!(again, WriteOutcome::Conflict);
//! store.destroy(&key).await?;
//! assert_eq!(store.get(&key, Duration::minutes(30), false).await?, None);
//! # Ok(())
//! # }
//! ```
//!
//! Run the shared conformance suite (`session_testkit::conformance_suite!`, as `integration-tests`
//! does for every backend here) against a new store before relying on
//! it: it checks every clause of the contract, including the regressions other session libraries
//! shipped.

mod data;
mod error;
mod key;
mod lifetime;
pub mod node;
mod owner;
mod record;
mod resolution;
mod scan;
mod store;
mod version;

pub use async_trait::async_trait;
pub use data::SessionData;
pub use error::{BoxError, DecodeError, Error, Result, error_chain};
pub use key::{GENERATED_KEY_BYTES, IdsAtRest, MAX_KEY_LEN, SessionKey};
pub use lifetime::{LIFETIME_FIELD, Lifetime, lifetime_over, write_expiry};
pub use owner::{
    MAX_META_ENTRIES, MAX_META_NAME_LEN, MAX_META_VALUE_LEN, MAX_OWNER_LEN, OWNER_FIELD,
    OwnedSession, Owner, OwnerIndex, OwnerInfo, SessionHandle, owner_index,
};
pub use record::{
    DEFAULT_MAX_RECORD_BYTES, FORMAT_VERSION, MAX_MAX_AGE, MAX_NESTING_DEPTH, OWNED_FORMAT, Record,
    SizeEstimate, check_nesting, decode, encode, estimate_size, expires_at, max_age_ms, now_ms,
    version_prefix,
};
pub use resolution::{AUTO_RESOLUTION_CAP, ExpiryResolution};
pub use scan::{ScanCursor, ScanPage, StoreInfo};
pub use store::{Loaded, SessionStore, WriteOutcome};
pub use time::Duration;
pub use version::Version;
