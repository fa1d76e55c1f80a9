//! Deleting expired rows in bounded batches, on demand or from a background task.

use session_core::Result;

use crate::PgStore;
use crate::error::Pg;

impl PgStore {
    /// Deletes every row that expired before this call, at most `batch_size` rows per statement,
    /// and returns how many rows it removed. A `batch_size` of 0 is treated as 1, one above
    /// [`MAX_CLEANUP_BATCH`](crate::MAX_CLEANUP_BATCH) as that.
    ///
    /// Each batch is one statement: `DELETE … WHERE id IN (SELECT id … WHERE expires_at <= ?
    /// LIMIT n FOR UPDATE SKIP LOCKED) AND expires_at <= ?`. It never waits for a row another
    /// statement holds (a login or a touch): such rows are skipped and left for the next run,
    /// and a row touched meanwhile is no longer expired and is kept. Short batches keep each
    /// transaction small, so the cleanup never holds many locks or bloats one transaction.
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

session_sql::impl_cleanup!(PgStore, Pg);
