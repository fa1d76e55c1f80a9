//! Keyset pagination over the table, for [`SessionStore::scan`](session_core::SessionStore::scan).
//!
//! `WHERE id > last ORDER BY id LIMIT n` walks the primary key: each page costs an index range
//! read of `n` rows, however far into the table it is, where `OFFSET` would re-read every row
//! before the page. The cursor is the last id returned, so the server keeps nothing either.

use session_core::{Result, ScanCursor, ScanPage, now_ms};
use session_sql::timed_retry;
use sqlx::AssertSqlSafe;

use crate::MySqlStore;
use crate::error::My;

/// The largest page one statement reads.
const MAX_PAGE: u32 = 10_000;

impl MySqlStore {
    pub(crate) async fn scan_page(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        let size = page_size.clamp(1, MAX_PAGE);
        // The table name was validated to `[A-Za-z0-9_]`, so splicing it is safe.
        let text = format!(
            "SELECT id FROM `{}` WHERE id > ? AND expires_at > ? ORDER BY id LIMIT ?",
            self.queries.table
        );
        let now = now_ms();
        let ids: Vec<String> = timed_retry::<My, _, _, _, _>(self.timeout, || {
            sqlx::query_scalar(AssertSqlSafe(text.as_str()))
                .bind(cursor.position())
                .bind(now)
                .bind(size)
                .fetch_all(&self.pool)
        })
        .await?;
        Ok(ScanPage::after_last(&ids, size))
    }
}
