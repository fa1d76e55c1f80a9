//! The [`SessionStore`] operations: one driver call each.

use mongodb::options::ReturnDocument;
use session_core::{
    Duration, Error, Result, SessionData, SessionKey, SessionStore, async_trait, encode,
    max_age_ms, now_ms,
};

use crate::MongoStore;
use crate::document::{self, by_key, data_projection, live, set_expiry};
use crate::error::{BACKEND, is_duplicate_key, timed};

#[async_trait]
impl SessionStore for MongoStore {
    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>> {
        let max_age = max_age_ms(max_age)?;
        let now = now_ms();
        let found = if rolling {
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
            let collection = self.collection.clone();
            let filter = live(key, now);
            let op = async move {
                collection
                    .find_one(filter)
                    .projection(data_projection())
                    .await
            };
            timed(self.timeout, op).await?
        };
        match found {
            // An undecodable record is reported, not deleted: it may be worth inspecting, and the
            // middleware overwrites or destroys it anyway. (A rolling read has moved its expiry.)
            Some(found) => Ok(Some(document::decode(&found).map_err(Error::Decode)?)),
            None => Ok(None),
        }
    }

    async fn set(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        changed: bool,
    ) -> Result<()> {
        if !changed {
            return self.touch(key, max_age).await.map(drop);
        }
        let expires_at = now_ms().saturating_add(max_age_ms(max_age)?);
        // The size limit is enforced here, before any I/O, so an oversized write leaves the old
        // record untouched.
        let record = encode(data, expires_at, self.max_record_bytes)?;
        let record = String::from_utf8(record).map_err(|e| {
            // Unreachable: the record is an ASCII header and serde_json's UTF-8 output.
            Error::backend(BACKEND, e)
        })?;
        let replacement = document::session_document(key, record, expires_at);
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
}
