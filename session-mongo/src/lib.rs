//! A MongoDB backend for server-side web sessions, on the official [`mongodb`] driver.
//!
//! [`MongoStore`] implements [`SessionStore`](session_core::SessionStore) with one document per
//! session:
//!
//! ```text
//! { _id: "<session key>", data: "ss2:…:…:{…}", expiresAt: ISODate("…"), version: NumberLong(…) }
//! ```
//!
//! - `data` is the versioned record of [`session_core::encode`] as a string, so that every JSON
//!   value round-trips exactly (BSON has no `u64`; see the `document` module for the reasoning).
//! - `version` is the record version a conditional write compares, in the update's filter
//!   (absent on documents from before versions, which are [`Version::LEGACY`](session_core::Version::LEGACY)).
//! - `expiresAt` is a BSON Date computed from the application's clock ([`session_core::now_ms`]).
//!   A TTL index on it with `expireAfterSeconds: 0`, ensured when the store is built, lets the server
//!   delete expired sessions. The TTL monitor runs only about once a minute, so every read and
//!   touch also filters `expiresAt > now`: an expired session is never returned or extended.
//!
//! | operation | MongoDB command |
//! |---|---|
//! | `get(k, _, false)` | `find` on `{_id: k, expiresAt: {$gt: now}}` |
//! | `get(k, max_age, true)` | one `find` on the same filter; only when `expiresAt` lags by more than the [expiry resolution](MongoStore::with_expiry_resolution) (default: 1 % of the max-age, at most 60 s), one `findAndModify` on the same filter with `$set: {expiresAt}` (that alone with `ExpiryResolution::Exact`) |
//! | `set(k, data, max_age, true)` | `replaceOne({_id: k}, …, upsert)`, retried once on a duplicate-key race |
//! | `write_if(k, data, max_age, v)` | `updateOne` on `{_id: k, expiresAt: {$gt: now}, version: v}` with `$set` of data, expiry and the new version, no upsert; only when nothing matched, a `find` on `{_id: k, expiresAt: {$gt: now}}` tells a conflict from a missing session |
//! | `set(k, _, max_age, false)` | `updateOne` on `{_id: k, expiresAt: {$gt: now}}` with `$set: {expiresAt}`, no upsert |
//! | `destroy(k)` | `deleteOne({_id: k})` |
//! | `list_owned(o)` | `find({owner: index(o), expiresAt: {$gt: now}})` on the sparse index `owner_1` |
//! | `destroy_owned(o, keep)` | one `deleteMany({owner: index(o), expiresAt: {$gt: now}, _id: {$ne: keep}})` |
//!
//! A document whose `data` is not a readable record (written by another program, a newer
//! release, or corrupted) gives [`Error::Decode`](session_core::Error::Decode) and is left in
//! place; a rolling read of it has still moved its `expiresAt`, as the read and the extension are
//! one command. A changed `set` overwrites it, `destroy` removes it.
//!
//! # An existing index on `expiresAt`
//!
//! A TTL index with another `expireAfterSeconds` is changed to 0 with `collMod`. A single-field
//! index on `expiresAt` that is not a TTL index is reported as
//! [`Error::Config`](session_core::Error::Config) naming the index to drop; building the store
//! never panics and never drops anything.
//!
//! # Settings
//!
//! | setting | default |
//! |---|---|
//! | [`MongoStoreBuilder::collection`] | [`DEFAULT_COLLECTION`] (`"sessions"`) |
//! | [`with_timeout`](MongoStore::with_timeout) | [`DEFAULT_TIMEOUT`] (5 s per operation) |
//! | [`with_max_record_bytes`](MongoStore::with_max_record_bytes) | [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES) (1 MiB) |
//!
//! The collection is set on the [builder](MongoStore::builder), before the store exists, because
//! [`build`](MongoStoreBuilder::build) ensures that collection's TTL index: a store is never
//! pointed at a collection whose index nobody checked. The other settings need no I/O and are
//! `with_*` methods on the store, as on the other backends.
//!
//! # Failure behaviour
//!
//! - **Server down**: server selection fails within the client's `serverSelectionTimeoutMS`
//!   ([`MongoStore::connect`] lowers it to 3 s) and the call returns
//!   [`Error::Unavailable`](session_core::Error::Unavailable) with the driver's error as source;
//!   [`Error::is_transient`](session_core::Error::is_transient) is `true`, so middleware can
//!   answer 503.
//! - **Server stalls** (accepts connections, does not answer): every operation is bounded by the
//!   per-operation timeout ([`DEFAULT_TIMEOUT`], [`MongoStore::with_timeout`]) and returns
//!   [`Error::Timeout`](session_core::Error::Timeout). The driver operation itself is not
//!   cancelled: it runs on in its own task until the server answers or the connection fails,
//!   because the driver requires its futures to be polled to completion and a dropped one can
//!   leave its pool unable to serve again. Once the server answers, the same store object
//!   recovers (the fault tests measure it within 2 s of a stall under load).
//! - **Server restarts or a replica set fails over**: the driver's monitor rediscovers it and
//!   reconnects on its own; the same store object serves again without being rebuilt. Calls in
//!   between fail as `Unavailable` (network errors, "not primary", "shutting down"). Reads and the
//!   idempotent writes are retried once by the driver itself (retryable reads and writes) when
//!   the deployment supports them.
//! - **Building the store while the server is down** fails with a transient error rather than
//!   blocking; build the store again later.
//!
//! # Example
//!
//! ```no_run
//! use session_core::{Duration, SessionData, SessionKey, SessionStore};
//! use session_mongo::{DEFAULT_COLLECTION, MongoStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> session_core::Result<()> {
//! let store = MongoStore::connect("mongodb://127.0.0.1:27017", "app", DEFAULT_COLLECTION)
//!     .await?
//!     .with_timeout(std::time::Duration::from_secs(2));
//! // Or, with a client the application already has:
//! // MongoStore::builder(client, "app").collection("web_sessions").build().await?
//! let key = SessionKey::generate();
//! let mut data = SessionData::new();
//! data.insert("user", "alice")?;
//! store.set(&key, &data, Duration::minutes(30), true).await?;
//! assert_eq!(store.get(&key, Duration::minutes(30), true).await?, Some(data));
//! store.destroy(&key).await?;
//! # Ok(())
//! # }
//! ```
//!
//! With a client the application already has, use [`MongoStore::builder`]; the driver is
//! re-exported as [`mongodb`] so the versions match.

mod connect;
mod document;
mod error;
mod index;
mod node;
mod scan;
mod store;

pub use connect::MongoStoreBuilder;
pub use mongodb;
pub use node::{CONNECT_MONGO_COLLECTION, ConnectMongoStore};
pub use store::{DEFAULT_COLLECTION, DEFAULT_TIMEOUT, MongoStore};
