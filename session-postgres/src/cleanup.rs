//! Deleting expired rows in bounded batches, on demand or from a background task.

use std::time::Duration;

use session_core::{Result, now_ms};
use session_sql::{CleanupTask, timed_retry};

use crate::PgStore;
use crate::error::{BACKEND, Pg};
use crate::queries::sql;

/// The largest batch [`PgStore::cleanup_expired`] deletes with one statement: 10 000 rows.
pub const MAX_CLEANUP_BATCH: u32 = 10_000;

impl PgStore {
    /// Deletes every row that expired before this call, at most `batch_size` rows per statement,
    /// and returns how many rows it removed. A `batch_size` of 0 is treated as 1, one above
    /// [`MAX_CLEANUP_BATCH`] as that.
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

    /// [`cleanup_expired`](Self::cleanup_expired), stopping early between batches once `stop`
    /// returns true.
    async fn cleanup_batches(&self, batch_size: u32, stop: impl Fn() -> bool) -> Result<u64> {
        let batch = batch_size.clamp(1, MAX_CLEANUP_BATCH);
        // One cut-off for the whole run, from the application's clock: rows expiring while it
        // runs wait for the next run, so the loop ends even while sessions keep expiring.
        let now = now_ms();
        let mut removed = 0;
        loop {
            let deleted = timed_retry::<Pg, _, _, _, _>(self.timeout, || {
                sqlx::query(sql(&self.queries.delete_expired))
                    .bind(now)
                    .bind(i64::from(batch))
                    .execute(&self.pool)
            })
            .await?
            .rows_affected();
            removed += deleted;
            if deleted < u64::from(batch) || stop() {
                return Ok(removed);
            }
        }
    }

    /// Runs [`cleanup_expired`](Self::cleanup_expired) every `interval` (the first run starts
    /// at once) on a Tokio task, until the returned [`CleanupTask`] is dropped or
    /// [stopped](CleanupTask::stop).
    ///
    /// A failed run is logged (a `tracing` warning with the error chain and the table name), kept
    /// for [`CleanupTask::take_error`] and retried at the next tick. An `interval` of zero is
    /// treated as one millisecond.
    ///
    /// # Panics
    /// When called outside a Tokio runtime.
    pub fn spawn_cleanup(&self, interval: Duration, batch_size: u32) -> CleanupTask {
        let store = self.clone();
        session_sql::spawn_cleanup(
            BACKEND,
            self.table_name().to_owned(),
            interval,
            move |stop| {
                let store = store.clone();
                async move {
                    store
                        .cleanup_batches(batch_size, || stop.is_stopping())
                        .await
                }
            },
        )
    }
}
