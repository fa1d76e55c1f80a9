//! Records with absurd expiries, and absurd `max_age`s against existing records, on every
//! backend whose expiry can be rewritten with the driver: the store answers with "no session" or
//! a typed error, never panics, and leaves neighbouring records alone.
//!
//! Needs `REDIS_URL` (default `redis://127.0.0.1:6379`), `MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`) and `MONGODB_URL` (default `mongodb://127.0.0.1:27017`);
//! `bash scripts/test.sh` starts them. Unreachable servers skip loudly, or fail under `CI=true`.
//! Corrupted bytes and future format versions are covered in `redis.rs`, `mysql.rs` and
//! `mongo.rs`; invalid keys and `max_age` on a fresh key in the conformance suite.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;

use mongodb::bson::{DateTime, Document, doc};
use serde_json::json;
use session_core::{Duration, Error, SessionData, SessionKey, SessionStore};
use session_mysql::sqlx::{self, AssertSqlSafe};
use session_testkit::{
    data, mongo_collection, mongodb_url, mysql_url, reachable, redis_url, unique_name,
};

const LONG: Duration = Duration::hours(1);
/// 9999-12-31T23:59:59Z in epoch milliseconds: as far as any date type reaches comfortably.
const FAR_FUTURE_MS: i64 = 253_402_300_799_000;

async fn get(store: &dyn SessionStore, key: &SessionKey, rolling: bool) -> Option<SessionData> {
    store.get(key, LONG, rolling).await.unwrap()
}

async fn set(store: &dyn SessionStore, key: &SessionKey, d: &SessionData, changed: bool) {
    store.set(key, d, LONG, changed).await.unwrap();
}

/// Writes `victim` and `neighbour`, lets the backend push the victim's expiry to the far past,
/// and checks that the victim is gone for every kind of call while the neighbour is untouched.
/// Then the same with the far future: the victim is alive and a rolling read brings its expiry
/// back to now + max_age.
async fn absurd_expiries<F, Fut>(
    store: &dyn SessionStore,
    mut rewrite: F,
    remaining_ms: impl AsyncFn(&SessionKey) -> i64,
) where
    F: FnMut(SessionKey, i64) -> Fut,
    Fut: Future<Output = ()>,
{
    let (victim, neighbour) = (SessionKey::generate(), SessionKey::generate());
    let (dv, dn) = (
        data(json!({"who": "victim"})),
        data(json!({"who": "neighbour"})),
    );
    set(store, &victim, &dv, true).await;
    set(store, &neighbour, &dn, true).await;

    rewrite(victim.clone(), 1).await; // 1970-01-01T00:00:00.001Z
    assert_eq!(
        get(store, &victim, false).await,
        None,
        "a record expired in 1970 was returned"
    );
    assert_eq!(
        get(store, &victim, true).await,
        None,
        "a rolling read revived a 1970 record"
    );
    set(store, &victim, &dv, false).await;
    assert_eq!(
        get(store, &victim, false).await,
        None,
        "a touch revived a 1970 record"
    );
    assert_eq!(get(store, &neighbour, false).await.as_ref(), Some(&dn));

    set(store, &victim, &dv, true).await;
    rewrite(victim.clone(), FAR_FUTURE_MS).await;
    assert_eq!(
        get(store, &victim, false).await.as_ref(),
        Some(&dv),
        "a record expiring in 9999 was lost"
    );
    assert_eq!(get(store, &victim, true).await.as_ref(), Some(&dv));
    let left = remaining_ms(&victim).await;
    assert!(
        (LONG.whole_milliseconds() as i64 - 60_000..=LONG.whole_milliseconds() as i64)
            .contains(&left),
        "a rolling read left {left} ms instead of about max_age"
    );
    assert_eq!(get(store, &neighbour, false).await, Some(dn));
}

/// A zero, negative or absurd `max_age` on an existing record is `InvalidMaxAge` for every call,
/// and the record, its expiry and its neighbour are exactly as before.
async fn absurd_max_age_leaves_records_alone(
    store: &dyn SessionStore,
    remaining_ms: impl AsyncFn(&SessionKey) -> i64,
) {
    let (key, neighbour) = (SessionKey::generate(), SessionKey::generate());
    let (d, dn) = (data(json!({"v": 1})), data(json!({"v": "n"})));
    set(store, &key, &d, true).await;
    set(store, &neighbour, &dn, true).await;
    let before = remaining_ms(&key).await;
    for bad in [
        Duration::ZERO,
        Duration::milliseconds(-1),
        Duration::days(-365),
        Duration::MAX,
    ] {
        let other = data(json!({"v": "overwritten"}));
        for (what, result) in [
            ("set changed", store.set(&key, &other, bad, true).await),
            ("set touch", store.set(&key, &other, bad, false).await),
            ("rolling get", store.get(&key, bad, true).await.map(drop)),
            ("get", store.get(&key, bad, false).await.map(drop)),
        ] {
            assert!(
                matches!(result, Err(Error::InvalidMaxAge { .. })),
                "{what} with {bad}: {result:?}"
            );
        }
    }
    assert_eq!(get(store, &key, false).await, Some(d));
    let after = remaining_ms(&key).await;
    assert!(
        after <= before && before - after < 5_000,
        "the expiry moved: {before} -> {after} ms"
    );
    assert_eq!(get(store, &neighbour, false).await, Some(dn));
}

// ---- Redis: the key's TTL is the expiry. -----------------------------------------------------

async fn redis() -> Option<(
    session_redis::RedisStore,
    redis::aio::MultiplexedConnection,
    String,
)> {
    let url = redis_url();
    let prefix = format!("{}:", unique_name("bad_records"));
    let connected = session_redis::RedisStore::connect(&url).await;
    let store = reachable("redis", "bad_records", connected)?.with_prefix(prefix.clone());
    let client = redis::Client::open(url).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    Some((store, conn, prefix))
}

async fn redis_pttl(
    conn: &redis::aio::MultiplexedConnection,
    prefix: &str,
    key: &SessionKey,
) -> i64 {
    let mut conn = conn.clone();
    redis::cmd("PTTL")
        .arg(format!("{prefix}{}", key.as_str()))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_a_1970_expiry_is_gone_and_a_9999_expiry_lives() {
    let Some((store, conn, prefix)) = redis().await else {
        return;
    };
    let rewrite = |key: SessionKey, at_ms: i64| {
        let (mut conn, redis_key) = (conn.clone(), format!("{prefix}{}", key.as_str()));
        async move {
            // PEXPIREAT in the past deletes the key, as an expiry that passed long ago would.
            let _: i64 = redis::cmd("PEXPIREAT")
                .arg(redis_key)
                .arg(at_ms)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    };
    absurd_expiries(&store, rewrite, async |k: &SessionKey| {
        redis_pttl(&conn, &prefix, k).await
    })
    .await;
}

#[tokio::test]
async fn redis_absurd_max_age_leaves_records_alone() {
    let Some((store, conn, prefix)) = redis().await else {
        return;
    };
    absurd_max_age_leaves_records_alone(&store, async |k: &SessionKey| {
        redis_pttl(&conn, &prefix, k).await
    })
    .await;
}

// ---- MySQL / MariaDB: the `expires_at` column is the expiry. --------------------------------

async fn mysql() -> Option<session_mysql::MySqlStore> {
    let connected = session_mysql::MySqlStore::connect(&mysql_url()).await;
    let store = reachable("mysql", "bad_records", connected)?
        .with_table_name(&unique_name("bad_records"))
        .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

async fn mysql_remaining(store: &session_mysql::MySqlStore, key: &SessionKey) -> i64 {
    let sql = format!(
        "SELECT expires_at FROM `{}` WHERE id = ?",
        store.table_name()
    );
    let at: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(key.as_str())
        .fetch_one(store.pool())
        .await
        .unwrap();
    at - session_core::now_ms()
}

async fn mysql_drop(store: &session_mysql::MySqlStore) {
    let sql = format!("DROP TABLE `{}`", store.table_name());
    let _ = sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(store.pool())
        .await;
}

#[tokio::test]
async fn mysql_a_1970_expiry_is_gone_and_a_9999_expiry_lives() {
    let Some(store) = mysql().await else { return };
    let shared = Arc::new(store.clone());
    let rewrite = |key: SessionKey, at_ms: i64| {
        let store = Arc::clone(&shared);
        async move {
            let sql = format!(
                "UPDATE `{}` SET expires_at = ? WHERE id = ?",
                store.table_name()
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(at_ms)
                .bind(key.as_str())
                .execute(store.pool())
                .await
                .unwrap();
        }
    };
    absurd_expiries(&store, rewrite, async |k: &SessionKey| {
        mysql_remaining(&store, k).await
    })
    .await;
    mysql_drop(&store).await;
}

#[tokio::test]
async fn mysql_absurd_max_age_leaves_records_alone() {
    let Some(store) = mysql().await else { return };
    absurd_max_age_leaves_records_alone(&store, async |k: &SessionKey| {
        mysql_remaining(&store, k).await
    })
    .await;
    mysql_drop(&store).await;
}

// ---- MongoDB: the `expiresAt` date is the expiry. --------------------------------------------

async fn mongo() -> Option<(session_mongo::MongoStore, mongodb::Collection<Document>)> {
    let url = mongodb_url();
    // Named for the sweep in tests/mongo.rs, which drops stale collections.
    let name = mongo_collection(&unique_name("bad_records"));
    let connected = session_mongo::MongoStore::connect(&url, "session_tests", &name).await;
    let store = reachable("mongo", "bad_records", connected)?;
    let client = mongodb::Client::with_uri_str(&url).await.unwrap();
    Some((store, client.database("session_tests").collection(&name)))
}

async fn mongo_remaining(coll: &mongodb::Collection<Document>, key: &SessionKey) -> i64 {
    let found = coll
        .find_one(doc! { "_id": key.as_str() })
        .await
        .unwrap()
        .expect("document missing");
    let at = found.get_datetime("expiresAt").unwrap();
    at.timestamp_millis() - session_core::now_ms()
}

#[tokio::test]
async fn mongo_a_1970_expiry_is_gone_and_a_9999_expiry_lives() {
    let Some((store, coll)) = mongo().await else {
        return;
    };
    let rewrite = |key: SessionKey, at_ms: i64| {
        let coll = coll.clone();
        async move {
            coll.update_one(
                doc! { "_id": key.as_str() },
                doc! { "$set": { "expiresAt": DateTime::from_millis(at_ms) } },
            )
            .await
            .unwrap();
        }
    };
    absurd_expiries(&store, rewrite, async |k: &SessionKey| {
        mongo_remaining(&coll, k).await
    })
    .await;
    let _ = coll.drop().await;
}

#[tokio::test]
async fn mongo_absurd_max_age_leaves_records_alone() {
    let Some((store, coll)) = mongo().await else {
        return;
    };
    absurd_max_age_leaves_records_alone(&store, async |k: &SessionKey| {
        mongo_remaining(&coll, k).await
    })
    .await;
    let _ = coll.drop().await;
}
