//! Checks every SQL store with a `session-sql` cleanup task runs (PostgreSQL, SQLite): the test
//! file of each implements [`Table`] with its own SQL and calls these.

use std::time::{Duration as StdDuration, Instant};

use serde_json::json;
use session_core::{Duration, Error, Result, SessionKey, SessionStore, async_trait};
use session_sql::CleanupTask;
use session_testkit::{LegacyRecord, data};

/// Direct access to a store's table, for planting rows and counting them.
#[async_trait]
pub(crate) trait Table: SessionStore + Clone + 'static {
    /// The backend's name, for messages.
    const NAME: &'static str;
    /// Rows in the table.
    async fn count_rows(&self) -> i64;
    /// Inserts `(id, data, expires_at)` rows directly, leaving `version` at its default (0).
    async fn insert_rows(&self, rows: &[(String, Vec<u8>, i64)]);
    /// The raw `data` and `version` columns of row `id`.
    async fn raw_row(&self, id: &str) -> (Vec<u8>, i64);
    /// The raw `expires_at` column of row `id`.
    async fn raw_expiry(&self, id: &str) -> i64;
    /// The store's `with_expiry_resolution`.
    fn in_resolution(self, resolution: session_core::ExpiryResolution) -> Self;
    /// The store's `cleanup_expired`.
    async fn cleanup(&self, batch: u32) -> Result<u64>;
    /// The store's `spawn_cleanup`.
    fn spawn(&self, interval: StdDuration, batch: u32) -> CleanupTask;
}

/// Implements [`Table`] for `$store`, whose crate re-exports its `sqlx` as `sqlx` at the call
/// site, naming the backend `$name` and writing its first bind parameter as `$param`.
macro_rules! impl_table {
    ($store:ty, $name:literal, $param:literal) => {
        #[session_core::async_trait]
        impl $crate::sql_common::Table for $store {
            const NAME: &'static str = $name;

            async fn count_rows(&self) -> i64 {
                let sql = format!("SELECT COUNT(*) FROM \"{}\"", self.table_name());
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(self.pool())
                    .await
                    .unwrap()
            }

            async fn insert_rows(&self, rows: &[(String, Vec<u8>, i64)]) {
                for chunk in rows.chunks(1000) {
                    let mut insert = sqlx::QueryBuilder::new(format!(
                        "INSERT INTO \"{}\" (id, data, expires_at) ",
                        self.table_name()
                    ));
                    insert.push_values(chunk, |mut row, (id, bytes, expires_at)| {
                        row.push_bind(id.clone())
                            .push_bind(bytes.clone())
                            .push_bind(*expires_at);
                    });
                    insert.build().execute(self.pool()).await.unwrap();
                }
            }

            async fn raw_row(&self, id: &str) -> (Vec<u8>, i64) {
                let select = format!(
                    concat!("SELECT data, version FROM \"{}\" WHERE id = ", $param),
                    self.table_name()
                );
                sqlx::query_as(sqlx::AssertSqlSafe(select))
                    .bind(id)
                    .fetch_one(self.pool())
                    .await
                    .unwrap()
            }

            async fn raw_expiry(&self, id: &str) -> i64 {
                let select = format!(
                    concat!("SELECT expires_at FROM \"{}\" WHERE id = ", $param),
                    self.table_name()
                );
                sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                    .bind(id)
                    .fetch_one(self.pool())
                    .await
                    .unwrap()
            }

            fn in_resolution(self, resolution: session_core::ExpiryResolution) -> Self {
                self.with_expiry_resolution(resolution)
            }

            async fn cleanup(&self, batch: u32) -> session_core::Result<u64> {
                self.cleanup_expired(batch).await
            }

            fn spawn(&self, interval: std::time::Duration, batch: u32) -> session_sql::CleanupTask {
                self.spawn_cleanup(interval, batch)
            }
        }
    };
}
pub(crate) use impl_table;

/// The expiry-resolution check on `store`'s table, through clones in each resolution.
pub(crate) async fn rolling_reads_rewrite_only_a_lagging_expiry<T: Table>(store: T) {
    let raw = store.clone();
    session_testkit::resolution::rolling_reads_rewrite_only_a_lagging_expiry(
        |r| std::sync::Arc::new(store.clone().in_resolution(r)),
        |id| {
            let raw = raw.clone();
            async move { raw.raw_expiry(&id).await }
        },
    )
    .await;
}

/// Plants `n` rows that expired a minute ago.
async fn insert_expired<T: Table>(store: &T, n: usize) {
    let past = session_core::now_ms() - 60_000;
    let rows: Vec<_> = (0..n)
        .map(|_| {
            (
                SessionKey::generate().as_str().to_owned(),
                b"ss1:0:{}".to_vec(),
                past,
            )
        })
        .collect();
    store.insert_rows(&rows).await;
}

/// Cleanup with small batches removes exactly the 10 000 expired rows and none of the 100 live.
pub(crate) async fn cleanup_removes_exactly_the_expired_rows<T: Table>(store: T) {
    insert_expired(&store, 10_000).await;
    let live: Vec<SessionKey> = (0..100).map(|_| SessionKey::generate()).collect();
    for (i, key) in live.iter().enumerate() {
        store
            .set(key, &data(json!({"i": i})), Duration::hours(1), true)
            .await
            .unwrap();
    }
    assert_eq!(store.count_rows().await, 10_100);
    let started = Instant::now();
    let removed = store.cleanup(500).await.unwrap();
    eprintln!(
        "{}: cleanup removed {removed} rows in batches of 500 in {:?}",
        T::NAME,
        started.elapsed()
    );
    assert_eq!(removed, 10_000);
    assert_eq!(store.count_rows().await, 100);
    for (i, key) in live.iter().enumerate() {
        let got = store.get(key, Duration::hours(1), false).await.unwrap();
        assert_eq!(got, Some(data(json!({"i": i}))), "live session {i} lost");
    }
    assert_eq!(store.cleanup(500).await.unwrap(), 0, "second run");
}

/// The background task removes expired rows, and stops once dropped (and with `stop`).
pub(crate) async fn background_cleanup_removes_expired_rows_and_stops<T: Table>(store: T) {
    let live = SessionKey::generate();
    store
        .set(&live, &data(json!({"live": 1})), Duration::hours(1), true)
        .await
        .unwrap();
    insert_expired(&store, 250).await;
    let task = store.spawn(StdDuration::from_millis(50), 100);
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while store.count_rows().await > 1 {
        assert!(Instant::now() < deadline, "cleanup did not run: {task:?}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert!(task.take_error().is_none());
    drop(task);
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    insert_expired(&store, 10).await;
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(store.count_rows().await, 11, "cleanup ran after the drop");

    let task = store.spawn(StdDuration::from_millis(50), 100);
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while task.removed() < 10 {
        assert!(
            Instant::now() < deadline,
            "second task did not run: {task:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    tokio::time::timeout(StdDuration::from_secs(5), task.stop())
        .await
        .expect("stop() did not return");
    assert_eq!(store.count_rows().await, 1);
}

/// Rows whose bytes are not a record read as `Error::Decode`; neighbours are untouched, and the
/// application can overwrite a corrupted session.
pub(crate) async fn corrupted_rows_are_decode_errors_and_neighbours_survive<T: Table>(store: T) {
    let (before, after) = (SessionKey::generate(), SessionKey::generate());
    let nd = data(json!({"neighbour": true}));
    for key in [&before, &after] {
        store.set(key, &nd, Duration::hours(1), true).await.unwrap();
    }
    let future = session_core::now_ms() + 3_600_000;
    let garbage: [&[u8]; 3] = [b"\xff\xfe not a record", b"ss1:1:{\"cut", b"ss9:1:{}"];
    let corrupted: Vec<SessionKey> = garbage.iter().map(|_| SessionKey::generate()).collect();
    let rows: Vec<_> = corrupted
        .iter()
        .zip(garbage)
        .map(|(k, g)| (k.as_str().to_owned(), g.to_vec(), future))
        .collect();
    store.insert_rows(&rows).await;
    for key in &corrupted {
        for rolling in [false, true] {
            match store.get(key, Duration::hours(1), rolling).await {
                Err(Error::Decode(_)) => {}
                other => panic!("expected Decode (rolling={rolling}), got {other:?}"),
            }
        }
    }
    assert_eq!(store.count_rows().await, 5, "a corrupted row was removed");
    for key in [&before, &after] {
        let got = store.get(key, Duration::hours(1), false).await.unwrap();
        assert_eq!(got, Some(nd.clone()));
    }
    let fresh = data(json!({"fresh": 1}));
    store
        .set(&corrupted[0], &fresh, Duration::hours(1), true)
        .await
        .unwrap();
    let got = store.get(&corrupted[0], Duration::hours(1), false).await;
    assert_eq!(got.unwrap(), Some(fresh));
}

/// A row from before versions (an `ss1` record, version column 0) loads at the legacy version;
/// `write_if` at that version rewrites it as `ss2` with the new version in the column.
pub(crate) async fn legacy_rows_load_and_are_upgraded<T: Table>(store: T) {
    let key = SessionKey::generate();
    let old = LegacyRecord::new();
    let row = (
        key.as_str().to_owned(),
        old.bytes.clone().into_bytes(),
        old.expires_at,
    );
    store.insert_rows(&[row]).await;
    let version = old
        .upgrade(&store, &key, || async {
            store.raw_row(key.as_str()).await == (old.bytes.clone().into_bytes(), 0)
        })
        .await;
    let (raw, column) = store.raw_row(key.as_str()).await;
    assert!(
        raw.starts_with(b"ss2:"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(session_core::decode(&raw).unwrap().version, version);
    assert_eq!(
        session_sql::version_from_column(column),
        version,
        "the version column differs from the record's"
    );
}

/// A 5 MB session is stored and read back byte for byte.
pub(crate) async fn five_megabyte_session_round_trips_byte_for_byte<T: Table>(store: T) {
    let body: String = (0..5_000_000u32)
        .map(|i| char::from(b' ' + u8::try_from(i % 95).unwrap_or(0)))
        .collect();
    let d = data(json!({"body": body, "n": 1}));
    let key = SessionKey::generate();
    store.set(&key, &d, Duration::hours(1), true).await.unwrap();
    let got = store.get(&key, Duration::hours(1), true).await.unwrap();
    assert!(got == Some(d.clone()), "the session came back different");
    let (raw, _) = store.raw_row(key.as_str()).await;
    let record = session_core::decode(&raw).unwrap();
    let expected = session_core::encode(&d, record.version, record.expires_at, usize::MAX).unwrap();
    assert!(
        raw == expected,
        "the stored bytes differ from the encoded record"
    );
}
