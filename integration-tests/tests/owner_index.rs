//! The owner index against real servers: it never leaks (10 000 sessions of a few users churned
//! with short TTLs leave no raw index entry behind once they expired, counted in the memory
//! store's map, the Redis sorted sets, the MySQL table and the MongoDB collection), and on Redis
//! the states a failed step leaves behind (an entry without a record, an entry whose record moved
//! to another owner) never show a dead session nor hide a live one.
//!
//! Needs the servers `scripts/test.sh` starts; unreachable servers fail under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use ::redis::AsyncCommands as _;
use futures::StreamExt as _;
use mongodb::bson::doc;
use serde_json::json;
use session_core::{
    Duration, Owner, OwnerInfo, SessionData, SessionHandle, SessionKey, SessionStore, now_ms,
};
use session_memory::MemoryStore;
use session_mongo::MongoStore;
use session_mysql::MySqlStore;
use session_mysql::sqlx::{self, AssertSqlSafe};
use session_redis::RedisStore;
use session_testkit::{
    data, mongo_collection, mongodb_url, mysql_url, reachable, redis_cluster_urls, redis_url,
    unique_name,
};

/// Sessions churned per backend.
const SESSIONS: usize = 10_000;
/// Users they belong to.
const USERS: usize = 5;
/// Their idle lifetime.
const TTL: Duration = Duration::seconds(2);
/// Operations in flight at once.
const IN_FLIGHT: usize = 64;

fn users(tag: &str) -> Vec<Owner> {
    let base = unique_name(tag);
    (0..USERS)
        .map(|u| Owner::new(format!("{base}-{u}")).unwrap())
        .collect()
}

fn owned_by(owner: &Owner, n: usize) -> SessionData {
    let mut d = data(json!({ "n": n }));
    OwnerInfo::new(owner.clone(), now_ms(), 2000, [])
        .unwrap()
        .put_into(&mut d);
    d
}

/// Writes `SESSIONS` sessions spread over `users` with a mix of touches, rolling reads,
/// destroys and owner changes, then checks that each user lists exactly their live sessions:
/// every one still well within its TTL, and none destroyed, moved or expired.
async fn churn(store: Arc<dyn SessionStore>, users: &[Owner]) {
    let started = Instant::now();
    let ttl = StdDuration::from_millis(TTL.whole_milliseconds() as u64);
    // (handle, final owner or None when destroyed, when its TTL runs out)
    let outcomes: Vec<(SessionHandle, Option<usize>, Instant)> = futures::stream::iter(0..SESSIONS)
        .map(|i| {
            let store = Arc::clone(&store);
            let user = (i / 5) % USERS;
            let first = users[user].clone();
            let second = users[(user + 1) % USERS].clone();
            async move {
                let key = SessionKey::generate();
                store.write(&key, &owned_by(&first, i), TTL).await.unwrap();
                let owner = match i % 5 {
                    0 => Some(user),
                    1 => {
                        assert!(store.touch(&key, TTL).await.unwrap());
                        Some(user)
                    }
                    2 => {
                        assert!(store.get(&key, TTL, true).await.unwrap().is_some());
                        Some(user)
                    }
                    3 => {
                        store.destroy(&key).await.unwrap();
                        None
                    }
                    _ => {
                        store.write(&key, &owned_by(&second, i), TTL).await.unwrap();
                        Some((user + 1) % USERS)
                    }
                };
                (SessionHandle::of(&key), owner, Instant::now() + ttl)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    eprintln!(
        "owner index: {SESSIONS} sessions churned in {:.1?}",
        started.elapsed()
    );
    for (u, user) in users.iter().enumerate() {
        let listed: BTreeSet<SessionHandle> = store
            .list_owned(user)
            .await
            .unwrap()
            .iter()
            .map(|s| s.handle().clone())
            .collect();
        let margin = Instant::now() + StdDuration::from_millis(300);
        let mine = outcomes.iter().filter(|(_, o, _)| *o == Some(u));
        let may: BTreeSet<SessionHandle> = mine.clone().map(|(h, _, _)| h.clone()).collect();
        let must: BTreeSet<SessionHandle> = mine
            .filter(|(_, _, runs_out)| *runs_out > margin)
            .map(|(h, _, _)| h.clone())
            .collect();
        assert!(
            listed.is_subset(&may),
            "user {u} lists a session that is not theirs or was destroyed"
        );
        assert!(
            must.is_subset(&listed),
            "user {u} lists {} sessions but misses some of the {} surely live",
            listed.len(),
            must.len()
        );
    }
}

/// Waits until the churned sessions expired, with room for the index's slack and the clocks.
async fn outlive_the_churn() {
    tokio::time::sleep(StdDuration::from_millis(2000 + 2000 + 800)).await;
}

/// Polls `count` until it is zero, up to `bound`; returns the last count.
async fn settles_to_zero<F, Fut>(bound: StdDuration, mut count: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = u64>,
{
    let deadline = Instant::now() + bound;
    loop {
        let n = count().await;
        if n == 0 || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(StdDuration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_index_holds_nothing_once_sessions_expired() {
    let store = Arc::new(MemoryStore::new());
    let users = users("mem");
    churn(store.clone(), &users).await;
    outlive_the_churn().await;
    let left = settles_to_zero(StdDuration::from_secs(5), || async {
        store.run_pending_tasks().await;
        store.owner_index_len() as u64
    })
    .await;
    assert_eq!(left, 0, "index entries left after every session expired");
}

/// The raw members of every user's sorted set.
async fn redis_members<C: ::redis::aio::ConnectionLike + Send + Sync>(
    conn: &mut C,
    prefix: &str,
    users: &[Owner],
) -> u64 {
    let mut total = 0;
    for user in users {
        let index = format!("{prefix}~owner:{}", user.index().as_str());
        let n: u64 = conn.zcard(&index).await.unwrap();
        total += n;
    }
    total
}

/// Churns owned sessions of `who`'s users through `store` under a fresh prefix, then checks
/// over `conn` that their owner indexes held entries and hold none once every session expired.
async fn redis_index_drains<C: ::redis::aio::ConnectionLike + Send + Sync>(
    store: RedisStore,
    conn: &mut C,
    who: &str,
) {
    let prefix = format!("{}:", unique_name("leak"));
    let users = users(who);
    churn(Arc::new(store.with_prefix(&prefix)), &users).await;
    assert!(redis_members(conn, &prefix, &users).await > 0);
    outlive_the_churn().await;
    let left = redis_members(conn, &prefix, &users).await;
    assert_eq!(left, 0, "index entries left after every session expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_index_holds_nothing_once_sessions_expired() {
    let Some(store) = reachable(
        "redis",
        "index_leak",
        RedisStore::connect(&redis_url()).await,
    ) else {
        return;
    };
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis_index_drains(store, &mut conn, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_index_holds_nothing_once_sessions_expired() {
    let built = RedisStore::connect_cluster(&redis_cluster_urls()).await;
    let Some(store) = reachable("redis_cluster", "index_leak", built) else {
        return;
    };
    let client = ::redis::cluster::ClusterClient::new(redis_cluster_urls()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    redis_index_drains(store, &mut conn, "cluster").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_index_holds_nothing_once_sessions_expired() {
    let Some(base) = reachable(
        "mysql",
        "index_leak",
        MySqlStore::connect(&mysql_url()).await,
    ) else {
        return;
    };
    let table = unique_name("t_leak");
    let store = base.with_table_name(&table).unwrap();
    store.migrate().await.unwrap();
    let users = users("mysql");
    churn(Arc::new(store.clone()), &users).await;
    outlive_the_churn().await;
    // The index is the table's rows; expired ones go with the store's batched cleanup.
    while store.cleanup_expired(1000).await.unwrap() > 0 {}
    let count = format!("SELECT COUNT(*) FROM `{table}` WHERE owner IS NOT NULL");
    let left: i64 = sqlx::query_scalar(AssertSqlSafe(count))
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "indexed rows left after every session expired");
    let drop = format!("DROP TABLE `{table}`");
    sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_index_holds_nothing_once_sessions_expired() {
    let name = mongo_collection(&unique_name("leak"));
    let client = mongodb::Client::with_uri_str(mongodb_url()).await.unwrap();
    let built = MongoStore::builder(client.clone(), "session_tests")
        .collection(&name)
        .build()
        .await;
    let Some(store) = reachable("mongo", "index_leak", built) else {
        return;
    };
    let users = users("mongo");
    churn(Arc::new(store), &users).await;
    // mongod's TTL monitor wakes every 60 s unless told otherwise.
    let quick = client
        .database("admin")
        .run_command(doc! { "setParameter": 1, "ttlMonitorSleepSecs": 1 })
        .await
        .is_ok();
    outlive_the_churn().await;
    let collection = client
        .database("session_tests")
        .collection::<mongodb::bson::Document>(&name);
    let bound = StdDuration::from_secs(if quick { 30 } else { 75 });
    let left = settles_to_zero(bound, || async {
        collection
            .count_documents(doc! { "owner": { "$exists": true } })
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        left, 0,
        "indexed documents left after every session expired"
    );
    let _ = collection.drop().await;
}

/// Plants the states a failed step of a two-step update leaves in `prefix`'s index for
/// `alice`: a member with no record (the index step of a write ran, the record step failed) and
/// a member whose record now belongs to `bob` (the owner change ran, dropping the old entry
/// failed). Listing shows neither; ending alice's sessions ends only her live one.
async fn lagging_entries<C: ::redis::aio::ConnectionLike + Send + Sync>(
    store: RedisStore,
    conn: &mut C,
    prefix: &str,
) {
    let store = store.with_prefix(prefix);
    let (alice, bob) = (
        Owner::new(unique_name("alice")).unwrap(),
        Owner::new(unique_name("bob")).unwrap(),
    );
    let index = format!("{prefix}~owner:{}", alice.index().as_str());
    let long = Duration::hours(1);
    let far = now_ms() + 3_600_000;

    let live = SessionKey::generate();
    store
        .write(&live, &owned_by(&alice, 1), long)
        .await
        .unwrap();
    let ghost = SessionKey::generate();
    let _: i64 = conn.zadd(&index, ghost.as_str(), far).await.unwrap();
    let moved = SessionKey::generate();
    store
        .write(&moved, &owned_by(&alice, 2), long)
        .await
        .unwrap();
    store.write(&moved, &owned_by(&bob, 2), long).await.unwrap();
    let _: i64 = conn.zadd(&index, moved.as_str(), far).await.unwrap();

    let listed = store.list_owned(&alice).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key(), &live);
    assert_eq!(store.destroy_owned(&alice, None).await.unwrap(), 1);
    assert!(
        store.get(&moved, long, false).await.unwrap().is_some(),
        "bob's session ended"
    );
    assert!(store.get(&live, long, false).await.unwrap().is_none());
    assert_eq!(store.list_owned(&bob).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_lagging_index_entries_never_show_nor_hide_a_session() {
    let Some(store) = reachable("redis", "lagging", RedisStore::connect(&redis_url()).await) else {
        return;
    };
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    lagging_entries(store, &mut conn, &format!("{}:", unique_name("lag"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_lagging_index_entries_never_show_nor_hide_a_session() {
    let built = RedisStore::connect_cluster(&redis_cluster_urls()).await;
    let Some(store) = reachable("redis_cluster", "lagging", built) else {
        return;
    };
    let client = ::redis::cluster::ClusterClient::new(redis_cluster_urls()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    lagging_entries(store, &mut conn, &format!("{}:", unique_name("lag"))).await;
}

/// Churns sessions in a SQL store, runs its cleanup past their expiry, and answers how many
/// rows with an owner are left: the SQL stores' owner index is their rows.
async fn sql_rows_left<F, Fut>(store: Arc<dyn SessionStore>, users: &[Owner], cleanup: F) -> u64
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64>,
{
    churn(store, users).await;
    outlive_the_churn().await;
    cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_index_holds_nothing_once_sessions_expired() {
    let built = session_postgres::PgStore::connect(&session_testkit::postgres_url()).await;
    let Some(base) = reachable("postgres", "index_leak", built) else {
        return;
    };
    let table = session_testkit::fit_name(&unique_name("t_leak"), 55);
    let store = base.with_table_name(&table).unwrap();
    store.migrate().await.unwrap();
    let users = users("postgres");
    let left = sql_rows_left(Arc::new(store.clone()), &users, || async {
        while store.cleanup_expired(1000).await.unwrap() > 0 {}
        let count = format!("SELECT COUNT(*) FROM \"{table}\" WHERE owner IS NOT NULL");
        let n: i64 = session_postgres::sqlx::query_scalar(AssertSqlSafe(count))
            .fetch_one(store.pool())
            .await
            .unwrap();
        n as u64
    })
    .await;
    assert_eq!(left, 0, "indexed rows left after every session expired");
    let drop = format!("DROP TABLE \"{table}\"");
    session_postgres::sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_index_holds_nothing_once_sessions_expired() {
    let path = session_testkit::sqlite_file(&unique_name("leak"));
    let store = session_sqlite::SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let users = users("sqlite");
    let left = sql_rows_left(Arc::new(store.clone()), &users, || async {
        while store.cleanup_expired(1000).await.unwrap() > 0 {}
        let n: i64 = session_sqlite::sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE owner IS NOT NULL",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        n as u64
    })
    .await;
    assert_eq!(left, 0, "indexed rows left after every session expired");
    let _ = std::fs::remove_file(&path);
}
