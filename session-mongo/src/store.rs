//! [`MongoStore`]: construction and settings.

use std::fmt;
use std::time::Duration;

use mongodb::bson::Document;
use mongodb::{Client, Collection};
use session_core::{DEFAULT_MAX_RECORD_BYTES, Error, Result};

use crate::error::BACKEND;

/// The collection [`MongoStore`] users conventionally pass: `sessions`.
pub const DEFAULT_COLLECTION: &str = "sessions";

/// Default per-operation timeout: 5 s. Every call to the server (each `get`, `set`, `destroy`,
/// and index creation at construction) fails with [`Error::Timeout`] after this long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`SessionStore`](session_core::SessionStore) keeping one MongoDB document per session, with
/// a TTL index deleting expired ones.
///
/// Cloning is cheap: clones share the driver's connection pool.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) collection: Collection<Document>,
    pub(crate) max_record_bytes: usize,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for MongoStore {
    // The client is left out: its options hold the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.collection.namespace().db)
            .field("collection", &self.collection.name())
            .field("max_record_bytes", &self.max_record_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl MongoStore {
    /// A store in `database`.`collection` over an existing client.
    ///
    /// Ensures the TTL index on `expiresAt` (idempotently) before returning, within
    /// [`DEFAULT_TIMEOUT`]: created when missing, left alone when present, changed to
    /// `expireAfterSeconds: 0` with `collMod` when it is a TTL index with another value.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid database or collection name, or when `expiresAt` already
    /// has an index that is not a TTL index (drop it), or a TTL index that `collMod` could not
    /// change; [`Error::Unavailable`] or [`Error::Timeout`] when the server cannot be reached.
    pub async fn new(client: Client, database: &str, collection: &str) -> Result<Self> {
        validate_database(database)?;
        validate_collection(collection)?;
        let database = client.database(database);
        let store = MongoStore {
            collection: database.collection(collection),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            timeout: DEFAULT_TIMEOUT,
        };
        crate::index::ensure_ttl_index(&database, &store.collection, store.timeout).await?;
        Ok(store)
    }

    /// Connects to `url` (a `mongodb://` or `mongodb+srv://` connection string) and calls
    /// [`MongoStore::new`].
    ///
    /// Unless the URL sets them, `serverSelectionTimeoutMS` and `connectTimeoutMS` are lowered
    /// from the driver's 30 s and 10 s to 3 s, so that requests fail fast while the server is
    /// down, and `appName` is set to `session-mongo`.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (the message never contains the password);
    /// [`Error::Unavailable`] or [`Error::Timeout`] within a few seconds when the server is
    /// unreachable; as [`MongoStore::new`] otherwise.
    pub async fn connect(url: &str, database: &str, collection: &str) -> Result<Self> {
        let client = crate::connect::client(url, DEFAULT_TIMEOUT).await?;
        Self::new(client, database, collection).await
    }

    /// Bounds the encoded size of one record (default
    /// [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES), 1 MiB); larger writes
    /// fail with [`Error::TooLarge`] before any I/O. MongoDB itself refuses documents above
    /// 16 MiB, so limits beyond that only turn `TooLarge` into [`Error::Backend`].
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.max_record_bytes = max;
        self
    }

    /// Bounds each operation (default [`DEFAULT_TIMEOUT`]); a server that does not answer in
    /// time gives [`Error::Timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// MongoDB's database naming rules: non-empty, under 64 bytes, none of `/\. "$` or NUL.
fn validate_database(name: &str) -> Result<()> {
    if name.is_empty() || name.len() >= 64 {
        return Err(Error::config(
            BACKEND,
            "database name must be 1 to 63 bytes long",
        ));
    }
    if name.contains(['/', '\\', '.', ' ', '"', '$', '\0']) {
        return Err(Error::config(
            BACKEND,
            format!("database name {name:?} contains one of / \\ . space \" $ NUL"),
        ));
    }
    Ok(())
}

/// MongoDB's collection naming rules: non-empty, no `$` or NUL, not in the `system.` namespace.
fn validate_collection(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::config(
            BACKEND,
            "collection name must be 1 to 255 bytes long",
        ));
    }
    if name.contains(['$', '\0']) || name.starts_with("system.") {
        return Err(Error::config(
            BACKEND,
            format!("collection name {name:?} contains $ or NUL or starts with `system.`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_never_prints_the_password() {
        let options =
            mongodb::options::ClientOptions::parse("mongodb://app:hunter2-pw@127.0.0.1:1")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let client = Client::with_options(options).unwrap_or_else(|e| panic!("{e}"));
        let store = MongoStore {
            collection: client.database("app").collection("sessions"),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            timeout: DEFAULT_TIMEOUT,
        };
        let printed = format!("{store:?} {store:#?}");
        assert!(
            printed.contains("sessions") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[test]
    fn names_follow_mongodb_rules() {
        assert!(validate_database("session_tests").is_ok());
        for bad in ["", "a.b", "a b", "a$b", "a/b", &"d".repeat(64)] {
            assert!(
                matches!(validate_database(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
        assert!(validate_collection(DEFAULT_COLLECTION).is_ok());
        assert!(validate_collection("t_round_trip_0a1b2c3d").is_ok());
        for bad in ["", "a$b", "system.sessions", "nul\0"] {
            assert!(
                matches!(validate_collection(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }
}
