//! ConnectMongoStore: a store in a Node format (see its documentation).

use std::fmt;
use std::time::Duration as StdDuration;

use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde_json::Value;
use session_core::node::{self, version_of};
use session_core::{
    DecodeError, Duration, Loaded, OwnedSession, Owner, Result, SessionData, SessionKey,
    SessionStore, Version, WriteOutcome, async_trait, max_age_ms, now_ms,
};

use crate::error::{BACKEND, timed};
use crate::store::DEFAULT_TIMEOUT;

/// connect-mongo's collection name.
pub const CONNECT_MONGO_COLLECTION: &str = "sessions";

/// connect-mongo's `ttl` for a cookie without expiry: 14 days, in ms.
const DEFAULT_TTL_MS: i64 = 14 * 86_400_000;

/// A session store on connect-mongo's collection.
///
/// [`ConnectMongoStore`]: sessions in connect-mongo 6's documents, so that a Rust service and a
/// running Express app share them (issue 16; the session is express-session's JSON, see
/// `session_core::node`).
///
/// A document is `{_id: <id>, expires: Date, session: <JSON string>}` (connect-mongo's default
/// `stringify: true`) or with `session` a sub-document whose `cookie.expires` is a Date
/// (`stringify: false`, [`ConnectMongoStore::with_stringify`]); both are read. A document is live
/// when it has no `expires` or `expires > now`, as connect-mongo's `get` filters; the collection
/// gets connect-mongo's TTL index `expires_1` (`{expires: 1}`, `expireAfterSeconds: 0`). A touch
/// sets `expires` (and `lastModified` with `touchAfter`, skipped while `lastModified` is younger
/// than `touchAfter`) and leaves `session` as it is.
#[derive(Clone)]
pub struct ConnectMongoStore {
    collection: Collection<Document>,
    stringify: bool,
    touch_after_ms: i64,
    timeout: StdDuration,
}

impl fmt::Debug for ConnectMongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectMongoStore")
            .field("collection", &self.collection.name())
            .field("stringify", &self.stringify)
            .field("touch_after_ms", &self.touch_after_ms)
            .finish()
    }
}

impl ConnectMongoStore {
    /// A store on `database`.`collection`; creates connect-mongo's TTL index `expires_1` when it
    /// is missing, with connect-mongo's exact options (`background: true`): an index that
    /// differs only in an option makes connect-mongo's own `createIndex` fail, and with it every
    /// write of the Express app (which express-session reports after the response is sent).
    ///
    /// # Errors
    /// A driver error or [`Error::Timeout`](session_core::Error::Timeout).
    // `background` is deprecated in the driver (servers since 4.2 ignore it), but connect-mongo
    // still sends it, and a server that compares index options (SecantusDB does) rejects
    // connect-mongo's `createIndex` when ours lacks it.
    #[allow(deprecated)]
    pub async fn new(database: &mongodb::Database, collection: &str) -> Result<Self> {
        let collection = database.collection::<Document>(collection);
        let index = IndexModel::builder()
            .keys(doc! { "expires": 1 })
            .options(
                IndexOptions::builder()
                    .name("expires_1".to_owned())
                    .background(true)
                    .expire_after(StdDuration::ZERO)
                    .build(),
            )
            .build();
        let c = collection.clone();
        timed(DEFAULT_TIMEOUT, async move { c.create_index(index).await }).await?;
        Ok(ConnectMongoStore {
            collection,
            stringify: true,
            touch_after_ms: 0,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Whether `session` is written as a JSON string (connect-mongo's `stringify`, default
    /// `true`) or a sub-document.
    pub fn with_stringify(mut self, stringify: bool) -> Self {
        self.stringify = stringify;
        self
    }

    /// connect-mongo's `touchAfter` (default 0: every touch writes).
    pub fn with_touch_after(mut self, touch_after: StdDuration) -> Self {
        self.touch_after_ms = i64::try_from(touch_after.as_millis()).unwrap_or(i64::MAX);
        self
    }

    fn live(key: &SessionKey, now: i64) -> Document {
        doc! {
            "_id": key.as_str(),
            "$or": [
                { "expires": { "$exists": false } },
                { "expires": { "$gt": DateTime::from_millis(now) } },
            ],
        }
    }

    async fn find(&self, key: &SessionKey) -> Result<Option<Document>> {
        let (c, filter) = (self.collection.clone(), Self::live(key, now_ms()));
        timed(self.timeout, async move { c.find_one(filter).await }).await
    }

    fn encode(&self, data: &SessionData, max_age: Duration) -> Result<Document> {
        let now = now_ms();
        let record = node::express_encode(data, now, max_age_ms(max_age)?);
        let expires = record.expires_ms.unwrap_or(now + DEFAULT_TTL_MS);
        let session = if self.stringify {
            Bson::String(record.to_json())
        } else {
            to_bson(&Value::Object(record.map), true)
        };
        let mut set = doc! { "session": session, "expires": DateTime::from_millis(expires) };
        if self.touch_after_ms > 0 {
            set.insert("lastModified", DateTime::from_millis(now));
        }
        Ok(set)
    }
}

/// The JSON of a stored `session` and the bytes its version is taken from.
fn session_of(doc: &Document) -> Result<(SessionData, Vec<u8>)> {
    match doc.get("session") {
        Some(Bson::String(json)) => Ok((
            node::express_decode(json.as_bytes())?,
            json.clone().into_bytes(),
        )),
        Some(Bson::Document(sub)) => {
            let Value::Object(map) = to_json(&Bson::Document(sub.clone())) else {
                unreachable!("a document converts to an object")
            };
            let bytes = Value::Object(map.clone()).to_string().into_bytes();
            Ok((node::express_from_map(map)?, bytes))
        }
        _ => Err(DecodeError::Field("connect-mongo document without a session").into()),
    }
}

/// BSON → JSON as JSON.stringify shows a connect-mongo sub-document: Dates as ISO strings.
fn to_json(b: &Bson) -> Value {
    match b {
        Bson::DateTime(d) => Value::from(node::iso_ms(d.timestamp_millis())),
        Bson::Document(d) => {
            Value::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Bson::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        other => other.clone().into_relaxed_extjson(),
    }
}

/// JSON → BSON for a sub-document; `cookie.expires` back to a Date.
fn to_bson(v: &Value, top: bool) -> Bson {
    match v {
        Value::Object(map) => {
            let mut d = Document::new();
            for (k, v) in map {
                let value = match (top && k == "cookie", v) {
                    (true, Value::Object(cookie)) => {
                        let mut c = Document::new();
                        for (ck, cv) in cookie {
                            let date = (ck == "expires")
                                .then(|| cv.as_str().and_then(node::parse_iso_ms))
                                .flatten();
                            c.insert(
                                ck,
                                date.map_or_else(
                                    || to_bson(cv, false),
                                    |ms| Bson::DateTime(DateTime::from_millis(ms)),
                                ),
                            );
                        }
                        Bson::Document(c)
                    }
                    _ => to_bson(v, false),
                };
                d.insert(k, value);
            }
            Bson::Document(d)
        }
        other => Bson::try_from(other.clone()).unwrap_or(Bson::Null),
    }
}

#[async_trait]
impl SessionStore for ConnectMongoStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        max_age_ms(max_age)?;
        let Some(doc) = self.find(key).await? else {
            return Ok(None);
        };
        let (data, bytes) = session_of(&doc)?;
        if rolling {
            self.touch(key, max_age).await?;
        }
        Ok(Some(Loaded::new(data, version_of(&bytes))))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let set = self.encode(data, max_age)?;
        let c = self.collection.clone();
        let filter = doc! { "_id": key.as_str() };
        timed(self.timeout, async move {
            c.update_one(filter, doc! { "$set": set })
                .upsert(true)
                .await
        })
        .await?;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        version: Version,
    ) -> Result<WriteOutcome> {
        let Some(doc) = self.find(key).await? else {
            return Ok(WriteOutcome::Missing);
        };
        let (_, bytes) = session_of(&doc)?;
        if version_of(&bytes) != version {
            return Ok(WriteOutcome::Conflict);
        }
        let set = self.encode(data, max_age)?;
        let new = session_of(&set).map(|(_, b)| b).unwrap_or_default();
        let old = doc.get("session").cloned().unwrap_or(Bson::Null);
        let c = self.collection.clone();
        let filter = doc! { "_id": key.as_str(), "session": old };
        let done = timed(self.timeout, async move {
            c.update_one(filter, doc! { "$set": set }).await
        })
        .await?;
        Ok(if done.matched_count == 1 {
            WriteOutcome::Written(version_of(&new))
        } else if self.find(key).await?.is_none() {
            WriteOutcome::Missing
        } else {
            WriteOutcome::Conflict
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        let now = now_ms();
        let expires = now.saturating_add(max_age_ms(max_age)?);
        if self.touch_after_ms > 0 {
            let Some(doc) = self.find(key).await? else {
                return Ok(false);
            };
            if let Ok(last) = doc.get_datetime("lastModified")
                && now - last.timestamp_millis() < self.touch_after_ms
            {
                return Ok(true);
            }
        }
        let mut set = doc! { "expires": DateTime::from_millis(expires) };
        if self.touch_after_ms > 0 {
            set.insert("lastModified", DateTime::from_millis(now));
        }
        let (c, filter) = (self.collection.clone(), Self::live(key, now));
        let done = timed(self.timeout, async move {
            c.update_one(filter, doc! { "$set": set }).await
        })
        .await?;
        Ok(done.matched_count > 0)
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        let c = self.collection.clone();
        let filter = doc! { "_id": key.as_str() };
        timed(self.timeout, async move { c.delete_one(filter).await }).await?;
        Ok(())
    }

    async fn list_owned(&self, _owner: &Owner) -> Result<Vec<OwnedSession>> {
        Err(node::no_owner_index(BACKEND))
    }

    async fn destroy_owned(&self, _owner: &Owner, _keep: Option<&SessionKey>) -> Result<u64> {
        Err(node::no_owner_index(BACKEND))
    }
}
