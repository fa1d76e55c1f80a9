//! The TTL index on `expiresAt`, ensured idempotently when a store is built.
//!
//! | what the collection has | what [`ensure_ttl_index`] does |
//! |---|---|
//! | no single-field index on `expiresAt` | creates `{expiresAt: 1}` with `expireAfterSeconds: 0` |
//! | a TTL index on `expiresAt` with `expireAfterSeconds: 0` | nothing |
//! | a TTL index on `expiresAt` with another `expireAfterSeconds` | `collMod` sets it to 0 |
//! | a single-field index on `expiresAt` without `expireAfterSeconds` | [`Error::Config`] |
//!
//! A non-TTL index is reported rather than converted: it was created by someone else for some
//! other purpose, and silently making it delete documents is not this crate's call. Changing only
//! `expireAfterSeconds` of an existing TTL index is safe: with `0` each document lives until the
//! expiry the application wrote into it, so the index only ever deletes what reads already ignore.

use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use session_core::{Error, Result};

use crate::document::EXPIRES_AT;
use crate::error::{BACKEND, NAMESPACE_NOT_FOUND, server_code_of, timed};

/// The name given to the index this crate creates (the server's default name for the key).
pub(crate) const INDEX_NAME: &str = "expiresAt_1";

/// Makes sure `collection` has a TTL index on `expiresAt` with `expireAfterSeconds: 0`; see the
/// module docs for what happens to an existing index.
pub(crate) async fn ensure_ttl_index(
    database: &Database,
    collection: &Collection<Document>,
    timeout: Duration,
) -> Result<()> {
    let name = collection.name();
    let existing = expires_at_indexes(database, name, timeout).await?;
    if existing.iter().any(|i| i.expire_after == Some(0.0)) {
        return Ok(());
    }
    if let Some(ttl) = existing.iter().find(|i| i.expire_after.is_some()) {
        let command = doc! {
            "collMod": name,
            "index": { "name": &ttl.name, "expireAfterSeconds": 0_i64 },
        };
        let db = database.clone();
        return match timed(timeout, async move { db.run_command(command).await }).await {
            Ok(_) => Ok(()),
            Err(Error::Backend { source, .. }) => Err(Error::config_with_source(
                BACKEND,
                format!(
                    "collection `{name}` has the TTL index `{}` on `{EXPIRES_AT}` with \
                     expireAfterSeconds {:?}, and changing it to 0 with collMod failed; drop that \
                     index and restart",
                    ttl.name,
                    ttl.expire_after.unwrap_or_default(),
                ),
                source,
            )),
            Err(other) => Err(other),
        };
    }
    if let Some(plain) = existing.first() {
        return Err(Error::config(
            BACKEND,
            format!(
                "collection `{name}` has the index `{}` on `{EXPIRES_AT}` without \
                 expireAfterSeconds, so sessions would never be deleted; drop it \
                 (db.{name}.dropIndex(\"{}\")) and let the store create its TTL index",
                plain.name, plain.name,
            ),
        ));
    }
    let options = IndexOptions::builder()
        .name(INDEX_NAME.to_owned())
        .expire_after(Duration::ZERO)
        .build();
    create_index(collection, doc! { EXPIRES_AT: 1 }, options, timeout)
        .await
        .map_err(|e| match e {
            // A conflicting index appeared between the listing and the creation (another
            // process, another name): report it rather than loop.
            Error::Backend { source, .. } => Error::config_with_source(
                BACKEND,
                format!("creating the TTL index on `{name}.{EXPIRES_AT}` failed"),
                source,
            ),
            other => other,
        })
}

/// The name of the owner index.
pub(crate) const OWNER_INDEX_NAME: &str = "owner_1";

/// Makes sure `collection` has the sparse index on `owner` that lists and ends
/// a user's sessions. Sparse: sessions without an owner have no `owner` field and no entry, so
/// they cost nothing. Creating an index that exists with the same keys and options is a no-op
/// on the server.
pub(crate) async fn ensure_owner_index(
    collection: &Collection<Document>,
    timeout: Duration,
) -> Result<()> {
    let options = IndexOptions::builder()
        .name(OWNER_INDEX_NAME.to_owned())
        .sparse(true)
        .build();
    let keys = doc! { crate::document::OWNER: 1 };
    create_index(collection, keys, options, timeout).await
}

/// Creates the index on `keys` with `options` (a no-op when it exists with the same ones).
async fn create_index(
    collection: &Collection<Document>,
    keys: Document,
    options: IndexOptions,
    timeout: Duration,
) -> Result<()> {
    let model = IndexModel::builder().keys(keys).options(options).build();
    let coll = collection.clone();
    timed(timeout, async move { coll.create_index(model).await })
        .await
        .map(drop)
}

/// An existing index whose key is `expiresAt` alone.
#[derive(Debug)]
struct ExpiresAtIndex {
    name: String,
    /// `expireAfterSeconds`, when the index is a TTL index.
    expire_after: Option<f64>,
}

/// The single-field indexes on `expiresAt`, read with the `listIndexes` command.
///
/// The raw command rather than `Collection::list_indexes`, whose typed `IndexModel` fails to
/// deserialize an `expireAfterSeconds` stored as a double (older servers and some tools write
/// one); here any numeric type is accepted. A collection holds at most 64 indexes, fewer than
/// the first batch's default size of 101, so the first batch is the whole list.
async fn expires_at_indexes(
    database: &Database,
    collection: &str,
    timeout: Duration,
) -> Result<Vec<ExpiresAtIndex>> {
    let command = doc! { "listIndexes": collection, "cursor": { "batchSize": 1000_i32 } };
    let db = database.clone();
    let reply = match timed(timeout, async move { db.run_command(command).await }).await {
        Ok(reply) => reply,
        Err(e) if server_code_of(&e) == Some(NAMESPACE_NOT_FOUND) => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let batch = reply
        .get_document("cursor")
        .and_then(|cursor| cursor.get_array("firstBatch"))
        .map_err(|_| Error::config(BACKEND, "the server's listIndexes reply has no cursor"))?;
    Ok(batch
        .iter()
        .filter_map(Bson::as_document)
        .filter_map(expires_at_index)
        .collect())
}

fn expires_at_index(spec: &Document) -> Option<ExpiresAtIndex> {
    let key = spec.get_document("key").ok()?;
    if key.len() != 1 || !key.contains_key(EXPIRES_AT) {
        return None;
    }
    let expire_after = match spec.get("expireAfterSeconds") {
        Some(Bson::Int32(n)) => Some(f64::from(*n)),
        // Precision lost past 2^53 seconds cannot matter: only 0 versus not 0 is compared.
        Some(Bson::Int64(n)) => Some(*n as f64),
        Some(Bson::Double(n)) => Some(*n),
        _ => None,
    };
    Some(ExpiresAtIndex {
        name: spec.get_str("name").unwrap_or(INDEX_NAME).to_owned(),
        expire_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_single_field_expires_at_indexes_of_any_numeric_ttl_type() {
        let ttl =
            doc! { "v": 2, "key": { "expiresAt": 1 }, "name": "x", "expireAfterSeconds": 0.0 };
        let found = expires_at_index(&ttl).expect("a TTL index on expiresAt");
        assert_eq!((found.name.as_str(), found.expire_after), ("x", Some(0.0)));
        let long = doc! { "key": { "expiresAt": -1 }, "name": "y", "expireAfterSeconds": 60_i64 };
        assert_eq!(
            expires_at_index(&long).and_then(|i| i.expire_after),
            Some(60.0)
        );
        let plain = doc! { "key": { "expiresAt": 1 }, "name": "z" };
        assert_eq!(expires_at_index(&plain).map(|i| i.expire_after), Some(None));
    }

    #[test]
    fn ignores_compound_and_other_indexes() {
        let compound = doc! { "key": { "expiresAt": 1, "user": 1 }, "name": "c" };
        assert!(expires_at_index(&compound).is_none());
        assert!(expires_at_index(&doc! { "key": { "_id": 1 }, "name": "_id_" }).is_none());
    }
}
