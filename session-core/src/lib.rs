//! The contract and shared types for server-side web sessions with pluggable storage.
//!
//! Store authors depend on this crate alone; applications depend on one backend crate
//! (`session-memory`, `session-redis`, `session-mongo`, `session-mysql`) or on `session-config`
//! to choose one at run time.
//!
//! # Implementing a store
//!
//! A store implements four methods of [`SessionStore`] (`get`, `write`, `touch`, `destroy`;
//! koa-session's `set` is provided on top of `write` and `touch`) with the guarantees written on the
//! trait. Reuse [`encode`] / [`decode`] for the bytes, [`expires_at`] and [`now_ms`] for the
//! clock, and map driver errors into [`Error`] keeping them as the source. A complete store
//! (a mutex-protected map, correct but without eviction of expired records):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use session_core::{
//!     async_trait, decode, encode, expires_at, max_age_ms, now_ms, Result, SessionData,
//!     SessionKey, SessionStore, DEFAULT_MAX_RECORD_BYTES,
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
//!     async fn get(&self, key: &SessionKey, max_age: Duration, rolling: bool) -> Result<Option<SessionData>> {
//!         let max_age = max_age_ms(max_age)?;
//!         let mut records = self.records.lock().unwrap();
//!         let Some(bytes) = records.get_mut(key.as_str()) else { return Ok(None) };
//!         let record = decode(bytes)?;
//!         let now = now_ms();
//!         if record.is_expired_at(now) {
//!             return Ok(None);
//!         }
//!         if rolling {
//!             *bytes = encode(&record.data, now + max_age, usize::MAX)?;
//!         }
//!         Ok(Some(record.data))
//!     }
//!
//!     async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
//!         let bytes = encode(data, expires_at(max_age)?, DEFAULT_MAX_RECORD_BYTES)?;
//!         self.records.lock().unwrap().insert(key.as_str().to_owned(), bytes);
//!         Ok(())
//!     }
//!
//!     async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
//!         let expiry = expires_at(max_age)?;
//!         let mut records = self.records.lock().unwrap();
//!         let Some(bytes) = records.get_mut(key.as_str()) else { return Ok(false) };
//!         // Only an existing, unexpired record gets a new expiry; its data stays.
//!         let record = decode(bytes)?;
//!         if record.is_expired_at(now_ms()) {
//!             return Ok(false);
//!         }
//!         *bytes = encode(&record.data, expiry, usize::MAX)?;
//!         Ok(true)
//!     }
//!
//!     async fn destroy(&self, key: &SessionKey) -> Result<()> {
//!         self.records.lock().unwrap().remove(key.as_str());
//!         Ok(())
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
//! assert_eq!(store.get(&key, Duration::minutes(30), true).await?, Some(data));
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
mod record;
mod store;

pub use async_trait::async_trait;
pub use data::SessionData;
pub use error::{BoxError, DecodeError, Error, Result, error_chain};
pub use key::{GENERATED_KEY_BYTES, MAX_KEY_LEN, SessionKey};
pub use record::{
    DEFAULT_MAX_RECORD_BYTES, FORMAT_VERSION, MAX_MAX_AGE, MAX_NESTING_DEPTH, Record, SizeEstimate,
    check_nesting, decode, encode, estimate_size, expires_at, max_age_ms, now_ms,
};
pub use store::SessionStore;
pub use time::Duration;
