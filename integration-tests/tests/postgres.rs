//! The conformance suite and PostgreSQL-specific tests against a real PostgreSQL.
//!
//! Needs `POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`): a role that may
//! create and drop tables in that database. `bash scripts/test.sh` (or
//! `source scripts/services.sh && start_all`) starts a local PostgreSQL when one is installed;
//! then `cargo test -p integration-tests --test postgres`. Without a server every test is skipped
//! with a loud message, or fails under `CI=true`.
//!
//! Each test works in its own table `t_<test>_<hex>` (at most 55 characters). Tables left by
//! earlier runs are dropped once per run when older than 30 minutes.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod sql_common;

use std::sync::Arc;

use serde_json::json;
use session_core::{
    Duration, Error, ExpiryResolution, Result, SessionKey, SessionStore, WriteOutcome,
};
use session_postgres::PgStore;
use session_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use session_postgres::sqlx::{self, AssertSqlSafe, PgPool};
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::{data, fit_name, postgres_url, reachable, unique_name};
use tokio::sync::OnceCell;

/// The longest table name the store accepts.
const MAX_TABLE: usize = 55;

/// Connects, after dropping stale test tables once per test binary.
async fn connect() -> Result<PgStore> {
    let store = PgStore::connect(&postgres_url()).await?;
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT.get_or_init(|| drop_stale_tables(store.pool())).await;
    Ok(store)
}

/// Drops `t_…` tables created more than 30 minutes ago: leftovers of earlier runs, never the
/// tables of tests running now. PostgreSQL keeps no creation time, so [`migrated`] writes one
/// into the table's comment. Best effort: a failure here must not fail a test.
async fn drop_stale_tables(pool: &PgPool) {
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 't\\_%' \
         AND COALESCE(obj_description(c.oid, 'pg_class'), '0') ~ '^[0-9]+$' \
         AND COALESCE(obj_description(c.oid, 'pg_class'), '0')::bigint \
             < extract(epoch FROM now())::bigint - 1800",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    for table in stale {
        if table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let drop = format!("DROP TABLE IF EXISTS \"{table}\"");
            let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(pool).await;
        }
    }
}

/// `store` after `migrate`, its table's comment stamped with the time (for [`drop_stale_tables`]).
async fn migrated(store: PgStore) -> Result<PgStore> {
    store.migrate().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let comment = format!("COMMENT ON TABLE \"{}\" IS '{now}'", store.table_name());
    sqlx::raw_sql(AssertSqlSafe(comment))
        .execute(store.pool())
        .await
        .map_err(|e| Error::backend("postgres", e))?;
    Ok(store)
}

/// The conformance factory, in the exact mode (every rolling read rewrites the expiry): a
/// migrated store in its own table.
async fn make(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = connect()
        .await?
        .with_table_name(&fit_name(&namespace, MAX_TABLE))?
        .with_max_record_bytes(MAX_RECORD_BYTES)
        .with_expiry_resolution(ExpiryResolution::Exact);
    Ok(Arc::new(migrated(store).await?))
}

session_testkit::conformance_suite!(postgres, make);

/// The same suite on an `UNLOGGED` table, in the default expiry resolution.
async fn make_unlogged(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = connect()
        .await?
        .with_table_name(&fit_name(&namespace, MAX_TABLE))?
        .with_unlogged(true)
        .with_max_record_bytes(MAX_RECORD_BYTES);
    Ok(Arc::new(migrated(store).await?))
}

session_testkit::conformance_suite!(postgres_unlogged, make_unlogged);

/// A migrated store in a fresh table for test `name`, or `None` (after the harness's loud
/// message, or a panic under `CI=true`) when the server is unreachable.
async fn store_for(name: &str) -> Option<PgStore> {
    let store = reachable("postgres", name, connect().await)?
        .with_table_name(&fit_name(&unique_name(name), MAX_TABLE))
        .unwrap();
    Some(migrated(store).await.unwrap())
}

sql_common::impl_table!(PgStore, "postgres", "$1");
sql_common::sql_tests!(store_for, server: PgStore, at "postgres://postgres@127.0.0.1");

/// The table the server built is the documented one; `migrate` run again, and by several stores
/// at once on a new table, keeps it and its rows; `with_unlogged` makes it `UNLOGGED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_concurrent_and_builds_the_documented_table() {
    let Some(base) = reachable("postgres", "migrate", connect().await) else {
        return;
    };
    for unlogged in [false, true] {
        let table = fit_name(&unique_name("migrate"), MAX_TABLE);
        let store = base
            .clone()
            .with_table_name(&table)
            .unwrap()
            .with_unlogged(unlogged);
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.migrate().await })
            })
            .collect();
        for run in futures::future::join_all(runs).await {
            run.unwrap().unwrap();
        }
        let key = SessionKey::generate();
        let d = data(json!({"kept": true}));
        store.set(&key, &d, Duration::hours(1), true).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(
            store.get(&key, Duration::hours(1), false).await.unwrap(),
            Some(d)
        );
        let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, collation_name::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&table)
        .fetch_all(store.pool())
        .await
        .unwrap();
        let columns: Vec<(&str, &str, Option<&str>)> = columns
            .iter()
            .map(|(n, t, c)| (n.as_str(), t.as_str(), c.as_deref()))
            .collect();
        assert_eq!(
            columns,
            [
                ("id", "character varying", Some("C")),
                ("data", "bytea", None),
                ("expires_at", "bigint", None),
                ("version", "bigint", None),
                ("owner", "character varying", Some("C")),
            ]
        );
        let (persistence, indexes): (String, i64) = sqlx::query_as(
            "SELECT c.relpersistence::text, \
             (SELECT COUNT(*) FROM pg_indexes i WHERE i.tablename = c.relname \
              AND i.indexdef LIKE '%(expires_at)%') \
             FROM pg_class c WHERE c.relname = $1",
        )
        .bind(&table)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(persistence, if unlogged { "u" } else { "p" });
        assert_eq!(indexes, 1, "the expires_at index is missing");
        drop_table(&store).await;
    }
}

async fn drop_table(store: &PgStore) {
    let drop = format!("DROP TABLE IF EXISTS \"{}\"", store.table_name());
    sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Under `REPEATABLE READ` as the role's default isolation, concurrent writes of one row fail
/// with a serialization error (40001) that a plain client sees; the store runs the rolled-back
/// statement again, so every write, touch and rolling read succeeds, and of concurrent
/// conditional writes at one version exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_run_again() {
    let Some(base) = store_for("serialization").await else {
        return;
    };
    let options: PgConnectOptions = postgres_url().parse().unwrap();
    let options = options.options([("default_transaction_isolation", "repeatable read")]);
    let pool = PgPoolOptions::new().connect_with(options).await.unwrap();
    let store = PgStore::new(pool)
        .with_table_name(base.table_name())
        .unwrap();
    let key = SessionKey::generate();
    store
        .set(&key, &data(json!({"n": 0})), Duration::hours(1), true)
        .await
        .unwrap();

    // The race is real: the same upserts without the store's retry fail now and then.
    let upsert = format!(
        "INSERT INTO \"{}\" (id, data, expires_at) VALUES ($1, 'x', $2) \
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at",
        store.table_name()
    );
    let mut raw_failures = 0;
    for _ in 0..300 {
        let racers: Vec<_> = (0..4)
            .map(|i| {
                let (pool, upsert) = (store.pool().clone(), upsert.clone());
                tokio::spawn(async move {
                    sqlx::query(AssertSqlSafe(upsert))
                        .bind("raw")
                        .bind(i64::from(i))
                        .execute(&pool)
                        .await
                })
            })
            .collect();
        for r in futures::future::join_all(racers).await {
            if let Err(e) = r.unwrap() {
                let code = e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .unwrap_or_default();
                assert_eq!(code, "40001", "{e}");
                raw_failures += 1;
            }
        }
        if raw_failures > 0 {
            break;
        }
    }
    assert!(raw_failures > 0, "no serialization failure in 300 rounds");

    for round in 0..300 {
        let loaded = store
            .load(&key, Duration::hours(1), false)
            .await
            .unwrap()
            .unwrap();
        let racers: Vec<_> = (0..4)
            .map(|i| {
                let (store, key) = (store.clone(), key.clone());
                tokio::spawn(async move {
                    match i {
                        0 => store.touch(&key, Duration::hours(2)).await.map(|_| None),
                        1 => store
                            .get(&key, Duration::hours(2), true)
                            .await
                            .map(|_| None),
                        _ => store
                            .write_if(
                                &key,
                                &data(json!({"n": i})),
                                Duration::hours(1),
                                loaded.version,
                            )
                            .await
                            .map(Some),
                    }
                })
            })
            .collect();
        let mut written = 0;
        for r in futures::future::join_all(racers).await {
            match r.unwrap() {
                Ok(Some(WriteOutcome::Written(_))) => written += 1,
                Ok(Some(WriteOutcome::Conflict) | None) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(
            written, 1,
            "round {round}: {written} conditional writes won"
        );
    }
}

/// Bad table names are configuration errors; the longest valid one works end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_table_names_are_rejected_and_the_longest_valid_one_works() {
    let Some(store) = store_for("names").await else {
        return;
    };
    let longest = fit_name(&unique_name(&"n".repeat(64)), MAX_TABLE);
    assert_eq!(longest.len(), MAX_TABLE);
    let bad = [
        "",
        "9lives",
        "a-b",
        "x;DROP TABLE y",
        "q\"uote",
        "ünï",
        &"x".repeat(56),
    ];
    let store = sql_common::invalid_table_names_are_rejected_and_the_longest_valid_one_works(
        store, &bad, &longest,
    )
    .await;
    drop_table(&store).await;
}
