//! Building a store: from a driver client through [`MongoStoreBuilder`], which ensures the TTL
//! index, or from a URL without leaking the password into errors.

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use mongodb::Client;
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use session_core::{Error, Result};

use crate::error::{self, BACKEND};
use crate::index::{ensure_owner_index, ensure_ttl_index};
use crate::{DEFAULT_COLLECTION, DEFAULT_TIMEOUT, MongoStore};

/// Server selection timeout [`MongoStore::connect`] sets when the URL does not set
/// `serverSelectionTimeoutMS`: the driver's default of 30 s would make every request wait half a
/// minute while the server is down. Shorter than [`DEFAULT_TIMEOUT`], so an unreachable server is
/// reported as [`Error::Unavailable`] with the driver's explanation rather than as a bare timeout.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);

impl MongoStore {
    /// Starts building a store in `database` over an existing client; finish with
    /// [`MongoStoreBuilder::build`].
    ///
    /// The collection is a setting of the builder rather than of the store because the store
    /// may serve only once its collection has the TTL index: `build` ensures it, so a live store
    /// can never be pointed at a collection without one.
    pub fn builder(client: Client, database: &str) -> MongoStoreBuilder {
        MongoStoreBuilder {
            client,
            database: database.to_owned(),
            collection: DEFAULT_COLLECTION.to_owned(),
        }
    }

    /// Shorthand for `MongoStore::builder(client, database).collection(collection).build()`.
    ///
    /// # Errors
    /// As [`MongoStoreBuilder::build`].
    pub async fn new(client: Client, database: &str, collection: &str) -> Result<Self> {
        Self::builder(client, database)
            .collection(collection)
            .build()
            .await
    }

    /// Connects to `url` (a `mongodb://` or `mongodb+srv://` connection string) and builds a
    /// store in `database`.`collection` as [`MongoStore::new`] does.
    ///
    /// Unless the URL sets them, `serverSelectionTimeoutMS` and `connectTimeoutMS` are lowered
    /// from the driver's 30 s and 10 s to 3 s, so that requests fail fast while the server is
    /// down, and `appName` is set to `session-mongo`.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (the message never contains the password);
    /// [`Error::Unavailable`] or [`Error::Timeout`] within a few seconds when the server is
    /// unreachable; as [`MongoStoreBuilder::build`] otherwise.
    pub async fn connect(url: &str, database: &str, collection: &str) -> Result<Self> {
        let client = client(url, DEFAULT_TIMEOUT).await?;
        Self::new(client, database, collection).await
    }
}

/// Settings a [`MongoStore`] needs before it may serve: where its sessions live. Made by
/// [`MongoStore::builder`].
///
/// ```no_run
/// use session_mongo::{MongoStore, mongodb::Client};
///
/// # async fn run(client: Client) -> session_core::Result<()> {
/// let store = MongoStore::builder(client, "app")
///     .collection("web_sessions")
///     .build()
///     .await?
///     .with_timeout(std::time::Duration::from_secs(2));
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct MongoStoreBuilder {
    client: Client,
    database: String,
    collection: String,
}

impl fmt::Debug for MongoStoreBuilder {
    // The client is left out: its options hold the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStoreBuilder")
            .field("database", &self.database)
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl MongoStoreBuilder {
    /// Sets the collection holding the sessions (default [`DEFAULT_COLLECTION`], `sessions`).
    /// Give each application sharing a database its own.
    #[doc(alias = "with_collection")]
    pub fn collection(mut self, name: &str) -> Self {
        name.clone_into(&mut self.collection);
        self
    }

    /// Checks the names and ensures the TTL index on `expiresAt` (idempotently) within
    /// [`DEFAULT_TIMEOUT`], then returns the store with the default settings (change them with
    /// its `with_*` methods).
    ///
    /// The index is created when missing, left alone when present, and changed to
    /// `expireAfterSeconds: 0` with `collMod` when it is a TTL index with another value; see the
    /// [crate documentation](crate#an-existing-index-on-expiresat).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid database or collection name, or when `expiresAt` already
    /// has an index that is not a TTL index (drop it), or a TTL index that `collMod` could not
    /// change; [`Error::Unavailable`] or [`Error::Timeout`] when the server cannot be reached.
    pub async fn build(self) -> Result<MongoStore> {
        validate_database(&self.database)?;
        validate_collection(&self.collection)?;
        let database = self.client.database(&self.database);
        let collection = database.collection(&self.collection);
        ensure_ttl_index(&database, &collection, DEFAULT_TIMEOUT).await?;
        ensure_owner_index(&collection, DEFAULT_TIMEOUT).await?;
        Ok(MongoStore::from_collection(collection))
    }
}

/// Parses `url` and builds a client; no I/O except the DNS lookups of a `mongodb+srv://` URL.
async fn client(url: &str, timeout: Duration) -> Result<Client> {
    // Not `error::timed`: parsing is not a driver operation on a pooled connection, and its
    // errors need `parse_error`, which withholds a message that would show the password.
    let parsed = tokio::time::timeout(timeout, ClientOptions::parse(url).into_future())
        .await
        .map_err(|_| Error::timeout(BACKEND, timeout))?;
    let mut options = parsed.map_err(|e| parse_error(url, e))?;
    if options.server_selection_timeout.is_none() {
        options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
    }
    if options.connect_timeout.is_none() {
        options.connect_timeout = Some(SERVER_SELECTION_TIMEOUT);
    }
    if options.app_name.is_none() {
        options.app_name = Some("session-mongo".to_owned());
    }
    Client::with_options(options).map_err(|e| parse_error(url, e))
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

/// A URL the driver rejected: [`Error::Config`], unless it was a DNS failure of a
/// `mongodb+srv://` URL (transient). The driver's message is kept only when it does not contain
/// the URL's credentials.
fn parse_error(url: &str, e: mongodb::error::Error) -> Error {
    if matches!(e.kind.as_ref(), ErrorKind::DnsResolve { .. }) {
        return error::map(e);
    }
    let shown = format!("{e} {e:?}");
    let leaks = userinfo(url).is_some_and(|secret| shown.contains(secret));
    if leaks {
        Error::config(
            BACKEND,
            "invalid MongoDB URL (details withheld: they contain the credentials)",
        )
    } else {
        Error::config_with_source(BACKEND, "invalid MongoDB URL", e)
    }
}

/// The password of `url` (or the whole user-info part when it has no `:`), if any.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // The user info ends at the last `@` before the path; a password may itself contain `@`, `/`
    // or `?` when the user forgot to percent-encode it, so search up to the last `@` overall.
    let (info, _) = rest.rsplit_once('@')?;
    let secret = info.split_once(':').map_or(info, |(_, password)| password);
    (!secret.is_empty()).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_of_a_url_is_its_password_or_whole_user_info() {
        assert_eq!(userinfo("mongodb://u:p%40ss@h:1/db"), Some("p%40ss"));
        assert_eq!(userinfo("mongodb://u:p@ss@h/x"), Some("p@ss"));
        assert_eq!(userinfo("mongodb://token@h"), Some("token"));
        assert_eq!(userinfo("mongodb://h:27017"), None);
    }

    #[tokio::test]
    async fn a_malformed_url_is_a_config_error_without_the_password() {
        for url in [
            "mongodb://user:s3cr3t-pw@host:notaport/db",
            "mongodb://user:s3cr3t-pw@/db",
            "postgres://user:s3cr3t-pw@host/db",
            "mongodb://user:s3cr3t-pw@host/db?readPreference=s3cr3t-pw",
        ] {
            match client(url, Duration::from_secs(5)).await {
                Err(e @ Error::Config { .. }) => {
                    let shown = format!("{} {e:?}", session_core::error_chain(&e));
                    assert!(!shown.contains("s3cr3t"), "{url}: {shown}");
                }
                other => panic!("{url}: expected a configuration error, got {other:?}"),
            }
        }
    }

    #[test]
    fn names_breaking_mongodb_rules_are_config_errors() {
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

    #[tokio::test]
    async fn a_bad_collection_name_fails_the_build_before_any_io() {
        // Port 1: nothing listens, so reaching the server would give a transient error instead.
        let client = client("mongodb://127.0.0.1:1", Duration::from_secs(5))
            .await
            .unwrap();
        let built = MongoStore::builder(client, "app")
            .collection("system.sessions")
            .build()
            .await;
        assert!(matches!(built, Err(Error::Config { .. })), "{built:?}");
    }

    #[tokio::test]
    async fn the_builder_debug_shows_the_namespace_but_never_the_password() {
        let client = client(
            "mongodb://app:hunter2-pw@127.0.0.1:1",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let printed = format!("{:?}", MongoStore::builder(client, "app"));
        assert!(
            printed.contains(DEFAULT_COLLECTION) && !printed.contains("hunter2"),
            "{printed}"
        );
    }
}
