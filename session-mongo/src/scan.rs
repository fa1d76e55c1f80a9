//! Pages of every session, for [`SessionStore::scan`](session_core::SessionStore::scan).
//!
//! A `find` sorted by `_id` from just after the last id of the previous page, with a limit:
//! the `_id` index makes each page a bounded range read, and the store keeps no server-side
//! cursor open between pages (a driver cursor would time out while an operator's tool
//! pauses). Only `_id` is read back.

use mongodb::bson::{DateTime, Document, doc};
use session_core::{Result, ScanCursor, ScanPage, now_ms};

use crate::MongoStore;
use crate::document::EXPIRES_AT;
use crate::error::timed;

/// The largest page one `find` reads.
const MAX_PAGE: u32 = 10_000;

impl MongoStore {
    pub(crate) async fn scan_page(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        use futures::TryStreamExt as _;
        let size = page_size.clamp(1, MAX_PAGE);
        let mut filter = doc! { EXPIRES_AT: { "$gt": DateTime::from_millis(now_ms()) } };
        if !cursor.is_start() {
            filter.insert("_id", doc! { "$gt": cursor.position() });
        }
        let collection = self.collection.clone();
        let op = async move {
            let found = collection
                .find(filter)
                .sort(doc! { "_id": 1 })
                .limit(i64::from(size))
                .projection(doc! { "_id": 1 })
                .await?;
            found.try_collect::<Vec<Document>>().await
        };
        let documents = timed(self.timeout, op).await?;
        let ids: Vec<&str> = documents
            .iter()
            .filter_map(|d| d.get_str("_id").ok())
            .collect();
        Ok(ScanPage::after_last(&ids, size))
    }
}
