//! [`MongoStore`]: the struct, its settings, and the [`SessionStore`] implementation (one driver
//! call per operation). Building a store, which ensures the TTL index, is in `connect.rs`.

use std::fmt;
use std::time::Duration as StdDuration;

use mongodb::Collection;
use mongodb::bson::Document;
use mongodb::options::ReturnDocument;
use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, Error, ExpiryResolution, Loaded, OwnedSession, Owner,
    Result, ScanCursor, ScanPage, SessionData, SessionKey, SessionStore, StoreInfo, Version,
    WriteOutcome, async_trait, encode, lifetime_over, max_age_ms, now_ms, owner_index,
    write_expiry,
};

use crate::document::{
    self, by_key, data_projection, id_projection, listed, live, live_at, owned_by, set_expiry,
    set_record,
};
use crate::error::{BACKEND, is_duplicate_key, timed};

/// The collection a store uses unless [`MongoStoreBuilder::collection`](crate::MongoStoreBuilder::collection)
/// says otherwise: `sessions`.
pub const DEFAULT_COLLECTION: &str = "sessions";

/// Default per-operation timeout: 5 s. Every call to the server (each `get`, `set`, `destroy`,
/// and the index check when the store is built) fails with [`Error::Timeout`] after this long.
///
/// Longer than the Redis store's 2 s for two reasons: it must outlast the 3 s server selection
/// [`MongoStore::connect`] sets, so that an unreachable server is reported as
/// [`Error::Unavailable`] with the driver's reason rather than as a bare timeout; and an
/// operation may have to open and authenticate a pooled connection (a SCRAM handshake of
/// several round trips) before its command runs.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// A [`SessionStore`] keeping one MongoDB document per session, with a TTL index deleting
/// expired ones.
///
/// Build it with [`MongoStore::builder`] (or the shorthands [`MongoStore::new`] and
/// [`MongoStore::connect`]), which ensure the TTL index first. Cloning is cheap: clones share
/// the driver's connection pool.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) collection: Collection<Document>,
    max_record_bytes: usize,
    pub(crate) timeout: StdDuration,
    expiry_resolution: ExpiryResolution,
}

impl fmt::Debug for MongoStore {
    // The client is left out: its options hold the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.collection.namespace().db)
            .field("collection", &self.collection.name())
            .field("max_record_bytes", &self.max_record_bytes)
            .field("expiry_resolution", &self.expiry_resolution)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl MongoStore {
    /// The record string of `data`, enforcing the size limit before any I/O, so an oversized
    /// write leaves the old record untouched.
    fn encode(&self, data: &SessionData, version: Version, expires_at: i64) -> Result<String> {
        let record = encode(data, version, expires_at, self.max_record_bytes)?;
        String::from_utf8(record).map_err(|e| {
            // Unreachable: the record is an ASCII header and serde_json's UTF-8 output.
            Error::backend(BACKEND, e)
        })
    }

    /// A store on `collection`, whose TTL index the caller has ensured, with the default settings.
    pub(crate) fn from_collection(collection: Collection<Document>) -> Self {
        MongoStore {
            collection,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            timeout: DEFAULT_TIMEOUT,
            expiry_resolution: ExpiryResolution::Auto,
        }
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
    pub fn with_timeout(mut self, timeout: StdDuration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How far behind a rolling read may leave the stored `expiresAt` before it rewrites it
    /// (default [`ExpiryResolution::Auto`]: a hundredth of the max-age, at most 60 s). With a
    /// non-zero resolution a rolling read of a session whose expiry is recent enough is one
    /// `find` and writes nothing; one whose expiry lags, and every rolling read with
    /// [`ExpiryResolution::Exact`], is one `findAndModify`. An expired session is never
    /// returned in any mode.
    pub fn with_expiry_resolution(mut self, resolution: ExpiryResolution) -> Self {
        self.expiry_resolution = resolution;
        self
    }

    /// The configured expiry resolution of rolling reads.
    pub fn expiry_resolution(&self) -> ExpiryResolution {
        self.expiry_resolution
    }

    /// The live document under `key` (data, version, expiry) with a plain `find`.
    async fn find_live(&self, key: &SessionKey, now: i64) -> Result<Option<Document>> {
        let collection = self.collection.clone();
        let filter = live(key, now);
        let op = async move {
            collection
                .find_one(filter)
                .projection(data_projection())
                .await
        };
        timed(self.timeout, op).await
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        let max_age = max_age_ms(max_age)?;
        let now = now_ms();
        // With a non-zero resolution, a plain find first: a session whose expiry is recent
        // enough is returned without a write; a lagging one takes the findAndModify below.
        let mut found = None;
        if rolling && self.expiry_resolution.slack_ms(max_age) > 0 {
            let live = self.find_live(key, now).await?.map(|doc| {
                let stored = doc
                    .get_datetime(document::EXPIRES_AT)
                    .map_or(i64::MIN, |d| d.timestamp_millis());
                (doc, stored)
            });
            match self.expiry_resolution.settle(live, now, max_age) {
                Some(None) => return Ok(None),
                Some(fresh) => found = fresh,
                None => {}
            }
        }
        let found = if found.is_some() {
            found
        } else if rolling {
            // One round trip: read and extend in the same findAndModify, so the session cannot
            // expire between the two, and an expired one is neither returned nor extended.
            let collection = self.collection.clone();
            let (filter, update) = (live(key, now), set_expiry(now.saturating_add(max_age)));
            let op = async move {
                collection
                    .find_one_and_update(filter, update)
                    .projection(data_projection())
                    .return_document(ReturnDocument::Before)
                    .await
            };
            timed(self.timeout, op).await?
        } else {
            self.find_live(key, now).await?
        };
        match found {
            // An undecodable record is reported, not deleted: it may be worth inspecting, and the
            // middleware overwrites or destroys it anyway. (A rolling read has moved its expiry.)
            Some(found) => {
                let loaded = document::decode(&found).map_err(Error::Decode)?;
                // Past its absolute lifetime: ended, whatever its expiry field says.
                Ok((!lifetime_over(&loaded.data, now)).then_some(loaded))
            }
            None => Ok(None),
        }
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        // now + max_age, or the end of the session's absolute lifetime when that comes first.
        let expires_at = write_expiry(data, max_age)?;
        let version = Version::generate();
        let record = self.encode(data, version, expires_at)?;
        let owner = owner_index(data)?;
        let replacement =
            document::session_document(key, record, version, expires_at, owner.as_ref());
        // The filter is the `_id` alone, so an expired document the TTL monitor has not removed
        // yet is overwritten rather than duplicated.
        let upsert = || {
            let collection = self.collection.clone();
            let (filter, replacement) = (by_key(key), replacement.clone());
            async move {
                collection
                    .replace_one(filter, replacement)
                    .upsert(true)
                    .await
            }
        };
        match timed(self.timeout, upsert()).await {
            // Two upserts of a new `_id` can both miss and both insert; the loser gets E11000.
            // Servers from 4.2 retry this themselves; for the others, once more is enough, as the
            // document now exists and the retry is a plain replace.
            Err(e) if is_duplicate_key(&e) => timed(self.timeout, upsert()).await.map(drop),
            result => result.map(drop),
        }
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let now = now_ms();
        let expires_at = write_expiry(data, max_age)?;
        let version = Version::generate();
        let record = self.encode(data, version, expires_at)?;
        let owner = owner_index(data)?;
        // The expected version is part of the filter, so the server compares and writes in one
        // update. No upsert: a missing, expired or destroyed session is never re-created.
        let collection = self.collection.clone();
        let (filter, update) = (
            live_at(key, now, expected),
            set_record(record, version, expires_at, owner.as_ref()),
        );
        let op = async move { collection.update_one(filter, update).await };
        if timed(self.timeout, op).await?.matched_count == 1 {
            return Ok(WriteOutcome::Written(version));
        }
        // Nothing matched: a conflict or a missing session. Telling them apart costs a read,
        // but only on this failure path (an update pipeline with `$cond` could answer in the
        // same round trip, at the price of rewriting the document on a conflict and of needing
        // pipeline updates from every wire-compatible server).
        let collection = self.collection.clone();
        let filter = live(key, now);
        let op = async move {
            collection
                .find_one(filter)
                .projection(id_projection())
                .await
        };
        Ok(match timed(self.timeout, op).await? {
            Some(_) => WriteOutcome::Conflict,
            None => WriteOutcome::Missing,
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        let now = now_ms();
        let expires_at = now.saturating_add(max_age_ms(max_age)?);
        // A touch moves the expiry of a live document and nothing else. No upsert: a touch
        // arriving after a logout or after expiry must not bring the session back.
        let collection = self.collection.clone();
        let (filter, update) = (live(key, now), set_expiry(expires_at));
        let op = async move { collection.update_one(filter, update).await };
        Ok(timed(self.timeout, op).await?.matched_count == 1)
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        let collection = self.collection.clone();
        let filter = by_key(key);
        timed(
            self.timeout,
            async move { collection.delete_one(filter).await },
        )
        .await
        .map(drop)
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        use futures::TryStreamExt as _;
        let now = now_ms();
        let collection = self.collection.clone();
        let filter = owned_by(&owner.index(), now, None);
        let op = async move {
            let cursor = collection.find(filter).await?;
            cursor.try_collect::<Vec<Document>>().await
        };
        let documents = timed(self.timeout, op).await?;
        Ok(documents
            .iter()
            .filter_map(listed)
            .filter_map(|(id, record, expires_at)| {
                OwnedSession::from_stored(owner, id, record.as_bytes(), expires_at, now)
            })
            .collect())
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        // One deleteMany: the server deletes the owner's documents in one round trip.
        let collection = self.collection.clone();
        let filter = owned_by(&owner.index(), now_ms(), keep);
        let op = async move { collection.delete_many(filter).await };
        Ok(timed(self.timeout, op).await?.deleted_count)
    }

    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        self.scan_page(cursor, page_size).await
    }

    fn info(&self) -> StoreInfo {
        StoreInfo::new("mongodb")
    }
}

#[cfg(test)]
mod tests {
    use mongodb::Client;
    use mongodb::options::ClientOptions;

    use super::*;

    #[tokio::test]
    async fn debug_shows_the_namespace_but_never_the_password() {
        let options = ClientOptions::parse("mongodb://app:hunter2-pw@127.0.0.1:1")
            .await
            .unwrap();
        let client = Client::with_options(options).unwrap();
        let store = MongoStore::from_collection(client.database("app").collection("sess"));
        let printed = format!("{store:?} {store:#?}");
        assert!(
            printed.contains("sess") && !printed.contains("hunter2"),
            "{printed}"
        );
    }
}
