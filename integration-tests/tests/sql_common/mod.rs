//! Checks every SQL store with a `session-sql` cleanup task runs (MySQL, PostgreSQL, SQLite): the
//! test file of each implements [`Table`] with its own SQL and calls these.

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
    /// The store's `with_max_record_bytes`.
    fn with_record_limit(self, max: usize) -> Self;
    /// The store's `cleanup_expired`.
    async fn cleanup(&self, batch: u32) -> Result<u64>;
    /// The store's `spawn_cleanup`.
    fn spawn(&self, interval: StdDuration, batch: u32) -> CleanupTask;
    /// The store's `with_table_name`.
    #[allow(dead_code, reason = "SQLite's table-name test is its own")]
    fn renamed(self, table: &str) -> Result<Self>;
    /// The store's `migrate`.
    #[allow(dead_code, reason = "SQLite's table-name test is its own")]
    async fn create_table(&self) -> Result<()>;
    /// The store's `connect`.
    #[allow(dead_code, reason = "SQLite has no server")]
    async fn connect_to(url: &str) -> Result<Self>;
    /// A store with per-operation timeout `timeout` over a pool to `url` that connects lazily.
    #[allow(dead_code, reason = "SQLite has no server")]
    fn lazy(url: &str, timeout: StdDuration) -> Self;
}

/// Implements [`Table`] for `$store`, whose crate re-exports its `sqlx` as `sqlx` at the call
/// site, naming the backend `$name` and writing its first bind parameter as `$param`; the table
/// name is quoted with `quote` (default `"`) and the version read as the expression `version`
/// (default the column, a signed 64-bit integer).
macro_rules! impl_table {
    ($store:ty, $name:literal, $param:literal) => {
        $crate::sql_common::impl_table!($store, $name, $param, quote: "\"", version: "version");
    };
    ($store:ty, $name:literal, $param:literal, quote: $q:literal, version: $version:literal) => {
        #[session_core::async_trait]
        impl $crate::sql_common::Table for $store {
            const NAME: &'static str = $name;

            async fn count_rows(&self) -> i64 {
                let sql = format!(concat!("SELECT COUNT(*) FROM ", $q, "{}", $q), self.table_name());
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(self.pool())
                    .await
                    .unwrap()
            }

            async fn insert_rows(&self, rows: &[(String, Vec<u8>, i64)]) {
                for chunk in rows.chunks(1000) {
                    let mut insert = sqlx::QueryBuilder::new(format!(
                        concat!("INSERT INTO ", $q, "{}", $q, " (id, data, expires_at) "),
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
                    concat!(
                        "SELECT data, ", $version, " FROM ", $q, "{}", $q, " WHERE id = ", $param
                    ),
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
                    concat!("SELECT expires_at FROM ", $q, "{}", $q, " WHERE id = ", $param),
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

            fn with_record_limit(self, max: usize) -> Self {
                self.with_max_record_bytes(max)
            }

            async fn cleanup(&self, batch: u32) -> session_core::Result<u64> {
                self.cleanup_expired(batch).await
            }

            fn spawn(&self, interval: std::time::Duration, batch: u32) -> session_sql::CleanupTask {
                self.spawn_cleanup(interval, batch)
            }

            fn renamed(self, table: &str) -> session_core::Result<Self> {
                self.with_table_name(table)
            }

            async fn create_table(&self) -> session_core::Result<()> {
                self.migrate().await
            }

            async fn connect_to(url: &str) -> session_core::Result<Self> {
                <$store>::connect(url).await
            }

            fn lazy(url: &str, timeout: std::time::Duration) -> Self {
                let pool = sqlx::pool::PoolOptions::new().connect_lazy(url).unwrap();
                <$store>::new(pool).with_timeout(timeout)
            }
        }
    };
}
pub(crate) use impl_table;

/// The tests below, for the store `$store_for(name).await` gives (`None`: the server is
/// unreachable, and the harness said so), each in a table of its own; with `server: $store at
/// $host`, also the unreachable and stalled server test for the store type `$store` and the
/// server URL `$host` (without port and database).
macro_rules! sql_tests {
    ($store_for:path, server: $store:ty, at $host:literal) => {
        $crate::sql_common::sql_tests!($store_for);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unreachable_and_stalled_servers_give_transient_errors() {
            $crate::sql_common::unreachable_and_stalled_servers_give_transient_errors::<$store>(
                $host,
            )
            .await;
        }
    };
    ($store_for:path) => {
        $crate::sql_common::sql_tests!(
            $store_for,
            cleanup_removes_exactly_the_expired_rows("cleanup"),
            background_cleanup_removes_expired_rows_and_stops("background"),
            rolling_reads_rewrite_only_a_lagging_expiry("resolution"),
            corrupted_rows_are_decode_errors_and_neighbours_survive("corrupt"),
            legacy_rows_load_and_are_upgraded("legacy"),
            five_megabyte_session_round_trips_byte_for_byte("big"),
        );
    };
    ($store_for:path, $($test:ident($name:literal)),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some(store) = $store_for($name).await {
                    $crate::sql_common::$test(store).await;
                }
            }
        )+
    };
}
pub(crate) use sql_tests;

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
    assert_eq!(store.count_rows().await, 1, "the live row went too");
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

/// A 5 MB session (far above MySQL's BLOB, 64 KiB) is stored and read back byte for byte.
pub(crate) async fn five_megabyte_session_round_trips_byte_for_byte<T: Table>(store: T) {
    let store = store.with_record_limit(8 * 1024 * 1024);
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

/// Refused connections fail at once with a transient error (nothing listens on port 1 of
/// `host`, a URL without its port and database such as `mysql://root@127.0.0.1`); a stalled
/// server (one that accepts connections and never says a word) with a timeout.
#[allow(dead_code, reason = "SQLite has no server")]
pub(crate) async fn unreachable_and_stalled_servers_give_transient_errors<T: Table>(host: &str) {
    let started = Instant::now();
    match T::connect_to(&format!("{host}:1/test")).await {
        Err(e @ Error::Unavailable { .. }) => assert!(e.is_transient()),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("expected Unavailable, got a store"),
    }
    assert!(
        started.elapsed() < StdDuration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().map_or(0, |a| a.port());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = T::lazy(
        &format!("{host}:{port}/test"),
        StdDuration::from_millis(300),
    );
    let started = Instant::now();
    let got = store
        .get(&SessionKey::generate(), Duration::hours(1), false)
        .await;
    assert!(
        matches!(got, Err(Error::Timeout { .. })),
        "expected Timeout, got {got:?}"
    );
    assert!(
        started.elapsed() < StdDuration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    silent.abort();
}

/// Each of the `bad` table names is a configuration error; the `longest` valid one works end to
/// end. Returns the store on that table.
#[allow(dead_code, reason = "SQLite's table-name test is its own")]
pub(crate) async fn invalid_table_names_are_rejected_and_the_longest_valid_one_works<T: Table>(
    store: T,
    bad: &[&str],
    longest: &str,
) -> T {
    for bad in bad {
        match store.clone().renamed(bad) {
            Err(Error::Config { .. }) => {}
            other => panic!("{bad:?} was not rejected: {other:?}"),
        }
    }
    let store = store.renamed(longest).unwrap();
    store.create_table().await.unwrap();
    let key = SessionKey::generate();
    store
        .set(&key, &data(json!({"a": 1})), Duration::hours(1), true)
        .await
        .unwrap();
    assert_eq!(store.count_rows().await, 1);
    store
}
