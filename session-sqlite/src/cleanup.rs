//! Deleting expired rows in bounded batches, on demand or from a background task.

use session_core::Result;

use crate::SqliteStore;
use crate::error::Lite;

impl SqliteStore {
    /// Deletes every row that expired before this call, at most `batch_size` rows per statement,
    /// and returns how many rows it removed. A `batch_size` of 0 is treated as 1, one above
    /// [`MAX_CLEANUP_BATCH`](crate::MAX_CLEANUP_BATCH) as that.
    ///
    /// Each batch is one statement, `DELETE … WHERE id IN (SELECT id … WHERE expires_at <= ?
    /// LIMIT n)`, holding SQLite's single write lock only as long as one batch takes, so logins
    /// and saves wait at most that long (well within their busy timeout).
    ///
    /// Each statement gets the store's per-operation timeout; the whole call may take longer.
    /// Reads never depend on cleanup: they filter expired rows themselves.
    ///
    /// # Errors
    /// The first failing batch's error. Rows removed by earlier batches stay removed.
    pub async fn cleanup_expired(&self, batch_size: u32) -> Result<u64> {
        self.cleanup_batches(batch_size, || false).await
    }
}

session_sql::impl_cleanup!(SqliteStore, Lite);
