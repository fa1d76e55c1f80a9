//! Session ids hashed at rest, checked in the raw storage of every backend.
//!
//! Each test logs 20 users in through the middleware (signed cookies, owners set, the defaults of
//! `SessionLayer`), then dumps everything the backend holds for the test's namespace: Redis
//! `SCAN` + `GET`/`ZRANGE` of every key (on every primary of the cluster), every document of the
//! MongoDB collection, every row of the MySQL, PostgreSQL and SQLite tables. The dump must hold
//! every session (the user names are there) and each session's digest, and no cookie's id
//! anywhere: not as a key, not in a value, not in an owner index. Then a cookie built from a
//! stored key (with the signing barrier removed: an unsigned layer over the same store) is no
//! session, while the same layer still accepts the genuine id. The memory store has no raw
//! storage to dump; there the keys the store is handed are checked instead.
//!
//! Needs the servers `scripts/test.sh` starts; unreachable servers fail under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod web;

use std::sync::Arc;

use ::redis::AsyncCommands as _;
use axum::Router;
use axum::routing::get;
use futures::TryStreamExt as _;
use session_core::{SessionKey, SessionStore, now_ms};
use session_memory::MemoryStore;
use session_mongo::MongoStore;
use session_mysql::MySqlStore;
use session_mysql::sqlx::{self, AssertSqlSafe};
use session_postgres::PgStore;
use session_redis::RedisStore;
use session_sqlite::SqliteStore;
use session_testkit::{
    CountingStore, mongo_collection, mongodb_url, mysql_url, postgres_url, reachable,
    redis_cluster_urls, redis_url, sqlite_file, unique_name,
};
use session_tower::{KeyRing, Session, SessionLayer};
use web::{call, id_of};

const KEY: &[u8] = b"ids-at-rest-test-signing-key-0123456789";
const USERS: usize = 20;

fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route(
            "/login/{user}",
            get(
                |session: Session, axum::extract::Path(user): axum::extract::Path<String>| async move {
                    session.regenerate().await.unwrap();
                    session.insert("user", &user).await.unwrap();
                    session
                        .set_owner(&user, [("ua", "ids-at-rest test")])
                        .await
                        .unwrap();
                    "ok"
                },
            ),
        )
        .route(
            "/whoami",
            get(|session: Session| async move {
                session
                    .get::<String>("user")
                    .await
                    .unwrap()
                    .unwrap_or_else(|| "-".to_owned())
            }),
        )
        .layer(layer)
}

/// Logs `USERS` users in over `store`; answers their cookies.
async fn log_in(store: Arc<dyn SessionStore>, tag: &str) -> Vec<(String, String)> {
    let app = router(SessionLayer::new(store, KeyRing::new([KEY]).unwrap()));
    let mut cookies = Vec::new();
    for i in 0..USERS {
        let user = format!("{tag}-user-{i}");
        let (_, cookie) = call(&app, &format!("/login/{user}"), None).await;
        let cookie = cookie.expect("login set no cookie");
        assert_eq!(call(&app, "/whoami", Some(&cookie)).await.0, user);
        cookies.push((user, cookie));
    }
    cookies
}

/// The dump holds every session and its digest, and no id.
fn assert_no_id_in(dump: &str, cookies: &[(String, String)], backend: &str) {
    for (user, cookie) in cookies {
        let id = id_of(cookie);
        assert!(
            dump.contains(user.as_str()),
            "{backend}: {user}'s session is not in the dump"
        );
        let digest = SessionKey::parse(id).unwrap().digest();
        assert!(
            dump.contains(digest.as_str()),
            "{backend}: the digest of {user}'s id is not in the dump"
        );
        assert!(
            !dump.contains(id),
            "{backend}: {user}'s session id is in the raw storage"
        );
    }
}

/// A cookie carrying a stored key names no session, even with signing out of the way; the
/// genuine id still does through the same layer.
async fn assert_stored_keys_are_useless(
    store: Arc<dyn SessionStore>,
    cookies: &[(String, String)],
    backend: &str,
) {
    let unsigned = router(SessionLayer::unsigned(store));
    let expiry = now_ms() + 3_600_000;
    for (user, cookie) in cookies.iter().take(5) {
        let id = id_of(cookie);
        let genuine = format!("sid={id}.{expiry}");
        assert_eq!(
            call(&unsigned, "/whoami", Some(&genuine)).await.0,
            *user,
            "{backend}: the genuine id was not accepted"
        );
        let stored = SessionKey::parse(id).unwrap().digest();
        let forged = format!("sid={}.{expiry}", stored.as_str());
        assert_eq!(
            call(&unsigned, "/whoami", Some(&forged)).await.0,
            "-",
            "{backend}: a cookie built from a stored key was accepted"
        );
    }
}

/// Every key under `prefix` on `conn` and what it holds, as text.
async fn redis_dump<C: ::redis::aio::ConnectionLike + Send + Sync>(
    conn: &mut C,
    prefix: &str,
) -> String {
    let mut dump = String::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        for key in keys {
            let kind: String = ::redis::cmd("TYPE")
                .arg(&key)
                .query_async(conn)
                .await
                .unwrap();
            let value = match kind.as_str() {
                "string" => {
                    let bytes: Vec<u8> = conn.get(&key).await.unwrap();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                "zset" => {
                    let members: Vec<(String, f64)> =
                        conn.zrange_withscores(&key, 0, -1).await.unwrap();
                    format!("{members:?}")
                }
                other => panic!("unexpected {other} key {key}"),
            };
            dump.push_str(&format!("{key} => {value}\n"));
        }
        if next == 0 {
            return dump;
        }
        cursor = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_is_never_handed_a_session_id() {
    let counting = CountingStore::new(Arc::new(MemoryStore::new()));
    let store: Arc<dyn SessionStore> = counting.clone();
    let cookies = log_in(Arc::clone(&store), "memory").await;
    let seen: Vec<String> = counting.take().into_iter().map(|(_, key)| key).collect();
    assert!(!seen.is_empty());
    let seen = seen.join("\n");
    for (_, cookie) in &cookies {
        let id = id_of(cookie);
        assert!(!seen.contains(id), "the store was handed a session id");
        assert!(seen.contains(SessionKey::parse(id).unwrap().digest().as_str()));
    }
    assert_stored_keys_are_useless(store, &cookies, "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_no_session_id() {
    let Some(store) = reachable(
        "redis",
        "ids_at_rest",
        RedisStore::connect(&redis_url()).await,
    ) else {
        return;
    };
    let prefix = format!("{}:", unique_name("ids"));
    let store: Arc<dyn SessionStore> = Arc::new(store.with_prefix(&prefix));
    let cookies = log_in(Arc::clone(&store), "redis").await;
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let dump = redis_dump(&mut conn, &prefix).await;
    assert_no_id_in(&dump, &cookies, "redis");
    assert_stored_keys_are_useless(store, &cookies, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_holds_no_session_id_on_any_primary() {
    let built = RedisStore::connect_cluster(&redis_cluster_urls()).await;
    let Some(store) = reachable("redis_cluster", "ids_at_rest", built) else {
        return;
    };
    let prefix = format!("{}:", unique_name("ids"));
    let store: Arc<dyn SessionStore> = Arc::new(store.with_prefix(&prefix));
    let cookies = log_in(Arc::clone(&store), "cluster").await;
    let mut dump = String::new();
    for url in redis_cluster_urls() {
        let client = ::redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        dump.push_str(&redis_dump(&mut conn, &prefix).await);
    }
    assert_no_id_in(&dump, &cookies, "redis_cluster");
    assert_stored_keys_are_useless(store, &cookies, "redis_cluster").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_holds_no_session_id() {
    let name = mongo_collection(&unique_name("ids"));
    let client = mongodb::Client::with_uri_str(mongodb_url()).await.unwrap();
    let built = MongoStore::builder(client.clone(), "session_tests")
        .collection(&name)
        .build()
        .await;
    let Some(store) = reachable("mongo", "ids_at_rest", built) else {
        return;
    };
    let store: Arc<dyn SessionStore> = Arc::new(store);
    let cookies = log_in(Arc::clone(&store), "mongo").await;
    let collection = client
        .database("session_tests")
        .collection::<mongodb::bson::Document>(&name);
    let documents: Vec<mongodb::bson::Document> = collection
        .find(mongodb::bson::doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let dump: String = documents.iter().map(|d| format!("{d}\n")).collect();
    assert_no_id_in(&dump, &cookies, "mongo");
    assert_stored_keys_are_useless(store, &cookies, "mongo").await;
    let _ = collection.drop().await;
}

/// `(id, data, owner)` rows as text.
fn rows_text(rows: Vec<(String, Vec<u8>, Option<String>)>) -> String {
    rows.into_iter()
        .map(|(id, data, owner)| {
            format!(
                "{id} | {} | {}\n",
                String::from_utf8_lossy(&data),
                owner.unwrap_or_default()
            )
        })
        .collect()
}

/// The check on a server-backed SQL store: a fresh table (its name quoted with `$q`) on the
/// server `$connect` reaches, every row of it dumped, then dropped.
macro_rules! sql_server_holds_no_session_id {
    ($name:literal, $connect:expr, $q:literal) => {{
        let Some(base) = reachable($name, "ids_at_rest", $connect.await) else {
            return;
        };
        let table = unique_name("t_ids");
        let store = base.with_table_name(&table).unwrap();
        store.migrate().await.unwrap();
        let shared: Arc<dyn SessionStore> = Arc::new(store.clone());
        let cookies = log_in(Arc::clone(&shared), $name).await;
        let select = format!(concat!("SELECT id, data, owner FROM ", $q, "{}", $q), table);
        let rows = sqlx::query_as(AssertSqlSafe(select))
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert_no_id_in(&rows_text(rows), &cookies, $name);
        assert_stored_keys_are_useless(shared, &cookies, $name).await;
        let drop = format!(concat!("DROP TABLE ", $q, "{}", $q), table);
        sqlx::raw_sql(AssertSqlSafe(drop))
            .execute(store.pool())
            .await
            .unwrap();
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_holds_no_session_id() {
    sql_server_holds_no_session_id!("mysql", MySqlStore::connect(&mysql_url()), "`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_holds_no_session_id() {
    sql_server_holds_no_session_id!("postgres", PgStore::connect(&postgres_url()), "\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_holds_no_session_id() {
    let path = sqlite_file(&unique_name("ids"));
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let shared: Arc<dyn SessionStore> = Arc::new(store.clone());
    let cookies = log_in(Arc::clone(&shared), "sqlite").await;
    let rows = sqlx::query_as("SELECT id, data, owner FROM \"sessions\"")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_no_id_in(&rows_text(rows), &cookies, "sqlite");
    // The file itself, WAL included: nothing on disk holds an id either.
    let mut on_disk = Vec::new();
    for suffix in ["", "-wal"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        if let Ok(bytes) = std::fs::read(&file) {
            on_disk.extend(bytes);
        }
    }
    let on_disk = String::from_utf8_lossy(&on_disk);
    for (_, cookie) in &cookies {
        assert!(
            !on_disk.contains(id_of(cookie)),
            "sqlite: a session id is in the file"
        );
    }
    assert_stored_keys_are_useless(shared, &cookies, "sqlite").await;
    drop(store);
    let _ = std::fs::remove_file(&path);
}
