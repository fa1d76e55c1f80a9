//! Batched cleanup of a SQL store, written once.

/// Adds `cleanup_batches` (the loop behind a store's `cleanup_expired`) and `spawn_cleanup` to
/// `$store`, a SQL store with the fields `pool`, `queries` (with `delete_expired`: parameters
/// now and batch size, deleting one batch of expired rows) and `timeout`, whose driver errors
/// `$classify` reads. Expanded in the backend crate, against its own `sqlx`; batches are capped
/// at [`MAX_CLEANUP_BATCH`](crate::MAX_CLEANUP_BATCH).
#[macro_export]
macro_rules! impl_cleanup {
    ($store:ty, $classify:ty) => {
        impl $store {
            /// [`cleanup_expired`](Self::cleanup_expired), stopping early between batches once `stop`
            /// returns true.
            pub(crate) async fn cleanup_batches(
                &self,
                batch_size: u32,
                stop: impl Fn() -> bool,
            ) -> ::session_core::Result<u64> {
                let batch = batch_size.clamp(1, $crate::MAX_CLEANUP_BATCH);
                // One cut-off for the whole run, from the application's clock: rows expiring while it
                // runs wait for the next run, so the loop ends even while sessions keep expiring.
                let now = ::session_core::now_ms();
                let mut removed = 0;
                loop {
                    let deleted =
                        $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                            ::sqlx::query(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                                &self.queries.delete_expired,
                            )))
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
            /// at once) on a Tokio task, until the returned [`CleanupTask`](session_sql::CleanupTask) is dropped or
            /// [stopped](session_sql::CleanupTask::stop).
            ///
            /// A failed run is logged (a `tracing` warning with the error chain and the table name), kept
            /// for [`CleanupTask::take_error`](session_sql::CleanupTask::take_error) and retried at the next tick. An `interval` of zero is
            /// treated as one millisecond.
            ///
            /// # Panics
            /// When called outside a Tokio runtime.
            pub fn spawn_cleanup(
                &self,
                interval: ::std::time::Duration,
                batch_size: u32,
            ) -> $crate::CleanupTask {
                let store = self.clone();
                $crate::spawn_cleanup(
                    <$classify as $crate::Classify<::sqlx::Error>>::BACKEND,
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
    };
}

/// The largest batch a SQL store's `cleanup_expired` deletes with one statement: 10 000 rows.
pub const MAX_CLEANUP_BATCH: u32 = 10_000;
