//! Deleting expired rows in bounded batches, on demand or from a background task.

use std::time::Duration;

use session_core::{Result, now_ms};
pub use session_sql::CleanupTask;
use session_sql::timed_retry;

use crate::MySqlStore;
use crate::error::My;
use crate::queries::sql;
use sqlx::QueryBuilder;

/// The largest batch [`MySqlStore::cleanup_expired`] deletes with one statement: 10 000 keys,
/// well within the 65 535 parameters a statement may bind.
pub const MAX_CLEANUP_BATCH: u32 = 10_000;

impl MySqlStore {
    /// Deletes every row that expired before this call, at most `batch_size` rows per statement,
    /// and returns how many rows it removed. A `batch_size` of 0 is treated as 1, one above
    /// [`MAX_CLEANUP_BATCH`] as that.
    ///
    /// Each batch is two statements: a plain (non-locking) `SELECT id … WHERE expires_at <= ?
    /// LIMIT n`, then `DELETE … WHERE expires_at <= ? AND id IN (…)` by primary key. Deleting by
    /// key means the cleanup locks rows in the same order as every other statement of the store
    /// (the row first, then its expiry index entry). A range `DELETE … WHERE expires_at <= ?`
    /// would lock the index first and the rows second, the opposite order, and deadlock against
    /// logins and touches of the rows it reaches (Spring Session's single unbounded `DELETE`
    /// did). A row touched between the two statements is no longer expired and is kept.
    ///
    /// Each statement gets the store's per-operation timeout; the whole call may take longer.
    /// Reads never depend on cleanup: they filter expired rows themselves.
    ///
    /// # Errors
    /// The first failing batch's error. Rows removed by earlier batches stay removed.
    pub async fn cleanup_expired(&self, batch_size: u32) -> Result<u64> {
        self.cleanup_batches(batch_size, || false).await
    }

    /// One batch of [`cleanup_expired`](Self::cleanup_expired): at most `batch_size` rows.
    pub(crate) async fn cleanup_one_batch(&self, batch_size: u32) -> Result<u64> {
        self.cleanup_batches(batch_size, || true).await
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
            let expired: Vec<String> = timed_retry::<My, _, _, _, _>(self.timeout, || {
                sqlx::query_scalar(sql(&self.queries.expired_ids))
                    .bind(now)
                    .bind(batch)
                    .fetch_all(&self.pool)
            })
            .await?;
            if !expired.is_empty() {
                // A batch losing a lock conflict to a login is rolled back whole; running it
                // again is safe.
                removed += timed_retry::<My, _, _, _, _>(self.timeout, || {
                    let mut delete = QueryBuilder::new(&*self.queries.delete_expired);
                    delete.push_bind(now).push(" AND id IN (");
                    let mut ids = delete.separated(", ");
                    for id in &expired {
                        ids.push_bind(id.as_str());
                    }
                    delete.push(")");
                    async move { delete.build().execute(&self.pool).await }
                })
                .await?
                .rows_affected();
            }
            if expired.len() < batch as usize || stop() {
                return Ok(removed);
            }
        }
    }

    /// Runs [`cleanup_expired`](Self::cleanup_expired) every `interval` (the first run starts
    /// at once) on a Tokio task, until the returned [`CleanupTask`] is dropped or
    /// [stopped](CleanupTask::stop).
    ///
    /// A failed run is logged (a `tracing` warning with the error chain and the table name), kept
    /// for [`CleanupTask::take_error`] and retried at the next tick. An
    /// `interval` of zero is treated as one millisecond.
    ///
    /// # Panics
    /// When called outside a Tokio runtime.
    pub fn spawn_cleanup(&self, interval: Duration, batch_size: u32) -> CleanupTask {
        let store = self.clone();
        let table = self.queries.table.to_string();
        session_sql::spawn_cleanup("mysql", table, interval, move |stop| {
            let store = store.clone();
            // Checked between batches: a stop never cancels a statement midway.
            async move {
                store
                    .cleanup_batches(batch_size, || stop.is_stopping())
                    .await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use sqlx::mysql::MySqlPoolOptions;

    use super::*;

    #[tokio::test]
    async fn a_failing_background_cleanup_is_logged_with_its_cause() {
        // The test runtime has one thread, so the spawned cleanup task's logs are captured.
        let logs = session_testkit::capture_logs();
        // Nothing listens on port 1: every batch fails.
        let pool = MySqlPoolOptions::new()
            .acquire_timeout(Duration::from_millis(100))
            .connect_lazy("mysql://root:pw@127.0.0.1:1/test")
            .unwrap();
        let store = MySqlStore::new(pool).with_timeout(Duration::from_millis(500));
        let task = store.spawn_cleanup(Duration::from_millis(10), 100);
        while task.runs() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.stop().await;
        let text = logs.text();
        assert!(text.contains("WARN"), "{text}");
        assert!(text.contains("mysql session cleanup failed"), "{text}");
        assert!(text.contains("mysql server unavailable"), "{text}");
        assert!(text.contains("table=sessions"), "{text}");
    }
}
