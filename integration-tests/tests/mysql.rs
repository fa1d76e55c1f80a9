//! The conformance suite and MySQL-specific tests against a real MySQL 8 or MariaDB 10.11+.
//!
//! Needs `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`): a user that may create and
//! drop tables in that database. Start a local MariaDB with `bash scripts/test.sh` (which then
//! runs everything) or `source scripts/services.sh && start_all`, then
//! `cargo test -p integration-tests --test mysql`. Without a server every test is skipped with a
//! loud message, or fails under `CI=true`.
//!
//! Each test works in its own table `t_<test>_<hex>`. Tables left by earlier runs (crashed or
//! failed tests) are dropped once per run when older than 30 minutes, so parallel runs are safe.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod sql_common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use session_core::{Duration, ExpiryResolution, Result, SessionKey, SessionStore};
use session_mysql::MySqlStore;
use session_mysql::sqlx::{self, AssertSqlSafe, MySqlPool, QueryBuilder};
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::{LegacyRecord, data, mysql_url, reachable, unique_name};
use tokio::sync::OnceCell;

/// Connects, after dropping stale test tables once per test binary.
async fn connect() -> Result<MySqlStore> {
    let store = MySqlStore::connect(&mysql_url()).await?;
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT.get_or_init(|| drop_stale_tables(store.pool())).await;
    Ok(store)
}

/// Drops `t_…` tables created more than 30 minutes ago: leftovers of earlier runs, never the
/// tables of tests running now. Best effort: a failure here must not fail a test.
async fn drop_stale_tables(pool: &MySqlPool) {
    // NOW() is fine here: CREATE_TIME is on the server's clock too.
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 't\\_%' \
         AND CREATE_TIME < NOW() - INTERVAL 30 MINUTE",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    for table in stale {
        if table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let drop = format!("DROP TABLE IF EXISTS `{table}`");
            let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(pool).await;
        }
    }
}

/// The conformance factory, in the exact mode (every rolling read rewrites the expiry): a
/// migrated store in its own table.
async fn make(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = connect()
        .await?
        .with_table_name(&namespace)?
        .with_max_record_bytes(MAX_RECORD_BYTES)
        .with_expiry_resolution(ExpiryResolution::Exact);
    store.migrate().await?;
    Ok(Arc::new(store))
}

session_testkit::conformance_suite!(mysql, make);

/// A migrated store in a fresh table for test `name`, or `None` (after the harness's loud
/// message, or a panic under `CI=true`) when the server is unreachable.
async fn store_for(name: &str) -> Option<MySqlStore> {
    let store = reachable("mysql", name, connect().await)?
        .with_table_name(&unique_name(name))
        .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

// Backticks: the server's default `sql_mode` has no ANSI_QUOTES. The version column is
// unsigned; read as signed, it keeps its 64 bits as PostgreSQL's and SQLite's do.
sql_common::impl_table!(
    MySqlStore,
    "mysql",
    "?",
    quote: "`",
    version: "CAST(version AS SIGNED)"
);
sql_common::sql_tests!(store_for, server: MySqlStore, at "mysql://root@127.0.0.1");

/// Bad table names are configuration errors; good ones work end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_table_names_are_rejected_and_the_longest_valid_one_works() {
    let Some(store) = store_for("names").await else {
        return;
    };
    // The longest valid name (64 characters) is accepted by the server too.
    let longest = unique_name(&"n".repeat(64));
    assert_eq!(longest.len(), 64);
    let bad = [
        "",
        "9lives",
        "a-b",
        "a b",
        "x;DROP TABLE y",
        "tick`",
        "ünï",
        "a.b",
        &"x".repeat(65),
    ];
    sql_common::invalid_table_names_are_rejected_and_the_longest_valid_one_works(
        store, &bad, &longest,
    )
    .await;
}

/// `migrate` is idempotent and never touches existing rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_keeps_the_table_and_its_rows() {
    let Some(store) = store_for("migrate").await else {
        return;
    };
    let key = SessionKey::generate();
    let d = data(json!({"kept": true}));
    store.set(&key, &d, Duration::hours(1), true).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.get(&key, Duration::hours(1), false).await.unwrap(),
        Some(d)
    );

    // The table the server built is the documented one.
    let sql = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
               CAST(COALESCE(COLLATION_NAME, '') AS CHAR) \
               FROM information_schema.COLUMNS \
               WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
    let columns: Vec<(String, String, String)> = sqlx::query_as(sql)
        .bind(store.table_name())
        .fetch_all(store.pool())
        .await
        .unwrap();
    let columns: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|(n, t, c)| (n.as_str(), t.as_str(), c.as_str()))
        .collect();
    assert_eq!(columns.len(), 5, "{columns:?}");
    assert_eq!(columns[0], ("id", "varchar(128)", "ascii_bin"));
    assert_eq!(columns[1], ("data", "mediumblob", ""));
    // MariaDB prints a display width, MySQL 8 does not.
    assert!(
        matches!(columns[2], ("expires_at", "bigint" | "bigint(20)", "")),
        "{columns:?}"
    );
    assert!(
        matches!(
            columns[3],
            ("version", "bigint unsigned" | "bigint(20) unsigned", "")
        ),
        "{columns:?}"
    );
    assert_eq!(columns[4], ("owner", "char(32)", "ascii_bin"));
}

/// A table created by the schema before versions (no `version` column) holding an `ss1` row:
/// `migrate`, run by two stores at once, adds the column; the row loads with the legacy version,
/// `write_if` at that version accepts it and rewrites it as `ss2` with the new version in the
/// column, and a second `write_if` at the legacy version is then a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_table_and_its_ss1_rows_are_upgraded() {
    let Some(base) = reachable("mysql", "old_table", connect().await) else {
        return;
    };
    let table = unique_name("old_table");
    let old_schema = format!(
        "CREATE TABLE `{table}` (\
         id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
         data MEDIUMBLOB NOT NULL, expires_at BIGINT NOT NULL, \
         PRIMARY KEY (id), KEY expires_at_idx (expires_at)) ENGINE = InnoDB"
    );
    sqlx::raw_sql(AssertSqlSafe(old_schema))
        .execute(base.pool())
        .await
        .unwrap();
    let key = SessionKey::generate();
    let old = LegacyRecord::new();
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO `{table}` (id, data, expires_at) VALUES (?, ?, ?)"
    )))
    .bind(key.as_str())
    .bind(old.bytes.as_bytes())
    .bind(old.expires_at)
    .execute(base.pool())
    .await
    .unwrap();

    let store = base.clone().with_table_name(&table).unwrap();
    let other = base.with_table_name(&table).unwrap();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    a.unwrap();
    b.unwrap();
    store.migrate().await.unwrap();

    let row = || async {
        let select = format!("SELECT data, version FROM `{table}` WHERE id = ?");
        let row: (Vec<u8>, u64) = sqlx::query_as(AssertSqlSafe(select))
            .bind(key.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
        row
    };
    let version = old
        .upgrade(&store, &key, || async {
            row().await == (old.bytes.clone().into_bytes(), 0)
        })
        .await;
    let (raw, column) = row().await;
    assert!(
        raw.starts_with(b"ss2:"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(session_core::decode(&raw).unwrap().version, version);
    assert_eq!(column, version.as_u64());
    sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE `{table}`")))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Concurrent rolling reads of one session all find it, including those that write the same
/// expiry in the same millisecond.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_reads_in_the_same_millisecond_all_find_the_session() {
    let Some(store) = store_for("same_ms").await else {
        return;
    };
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    store.set(&key, &d, Duration::hours(1), true).await.unwrap();
    // Many rolling reads write the same expiry: rows "matched" but not "changed" must still
    // count as found (sqlx's CLIENT_FOUND_ROWS).
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.get(&key, Duration::hours(1), true).await })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        let got = t.unwrap();
        assert_eq!(
            got.unwrap().as_ref(),
            Some(&d),
            "a rolling read missed a live session"
        );
    }
}

/// InnoDB picks the statement of this store as the victim of a real deadlock (error 1213): a
/// concurrent transaction holds a gap lock on the expiry index where the touch must insert its
/// new index entry, and then asks for the row the touch has locked. The store runs the rolled
/// back statement again instead of failing the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_chosen_as_deadlock_victim_is_run_again() {
    let Some(store) = store_for("deadlock_victim").await else {
        return;
    };
    let table = store.table_name().to_owned();
    let key = SessionKey::generate();
    store
        .set(&key, &data(json!({"n": 1})), Duration::hours(1), true)
        .await
        .unwrap();
    let deadlocks_before = deadlock_count(store.pool()).await;

    let mut other = store.pool().acquire().await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut *other).await.unwrap();
    // Weight: InnoDB rolls back the transaction that changed less, so make this one heavy.
    let mut filler = QueryBuilder::new(format!("INSERT INTO `{table}` (id, data, expires_at) "));
    filler.push_values(0..2000, |mut row, i| {
        row.push_bind(format!("filler{i}"))
            .push_bind("x")
            .push_bind(0_i64);
    });
    filler.build().execute(&mut *other).await.unwrap();
    // Next-key locks on every expiry index entry after a day from now, up to the supremum:
    // where a 30-day touch puts its new entry.
    let horizon = session_core::now_ms() + 86_400_000;
    sqlx::query(AssertSqlSafe(format!(
        "SELECT id FROM `{table}` FORCE INDEX (expires_at_idx) WHERE expires_at > ? FOR UPDATE"
    )))
    .bind(horizon)
    .fetch_all(&mut *other)
    .await
    .unwrap();

    let touching = {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move { store.touch(&key, Duration::days(30)).await })
    };
    // The touch now holds the row and waits for the gap. Asking for the row closes the cycle.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT id FROM `{table}` WHERE id = ? FOR UPDATE"
    )))
    .bind(key.as_str())
    .fetch_all(&mut *other)
    .await;
    assert!(
        row.is_ok(),
        "the heavy transaction was chosen as the victim: {row:?}"
    );
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut *other)
        .await
        .unwrap();

    let touched = touching.await.unwrap();
    assert!(
        deadlock_count(store.pool()).await > deadlocks_before,
        "no deadlock happened: the test did not exercise the retry"
    );
    assert!(matches!(touched, Ok(true)), "{touched:?}");
    let expiry: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT expires_at FROM `{table}` WHERE id = ?"
    )))
    .bind(key.as_str())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(expiry > horizon, "the touch did not land after its retry");
}

/// InnoDB's count of deadlocks since the server started.
async fn deadlock_count(pool: &MySqlPool) -> i64 {
    let (_, value): (String, String) = sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")
        .fetch_one(pool)
        .await
        .unwrap();
    value.parse().unwrap()
}
