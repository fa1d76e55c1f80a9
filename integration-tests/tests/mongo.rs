//! The conformance suite and the MongoDB-specific tests against `MongoStore`.
//!
//! Needs a MongoDB-compatible server at `MONGODB_URL` (default `mongodb://127.0.0.1:27017`); CI
//! and local runs use SecantusDB. Start it with `bash scripts/test.sh` (starts every server, then
//! runs all tests) or `source scripts/services.sh && start_all`, then
//! `cargo test -p integration-tests --test mongo`.
//! Without a server every test is skipped with a loud message, or fails under `CI=true`.
//!
//! Tests work in the database `session_tests`, each in a collection of its own named
//! `r<unix seconds>_<namespace>`. The extra tests drop their collection when they pass; the
//! first store built in a run also drops the collections earlier runs left behind (conformance
//! checks and failed tests) more than ten minutes ago. No test runs that long, so concurrent runs
//! never touch each other's collections, and nothing piles up.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, IndexModel};
use serde_json::json;
use session_core::{
    Duration, Error, ExpiryResolution, Result, SessionData, SessionKey, SessionStore, now_ms,
};
use session_mongo::MongoStore;
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::{
    LegacyRecord, data, error_chain, mongo_collection, mongodb_url, unique_name,
};

const DB: &str = "session_tests";
/// Collections older than this are left over from earlier runs.
const STALE_AFTER_SECS: u64 = 600;
const LONG: Duration = Duration::hours(1);

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Drops, once per test process, the test collections earlier runs left behind.
async fn sweep_stale_collections() {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let Ok(client) = driver().await else {
                return;
            };
            let db = client.database(DB);
            let Ok(names) = db.list_collection_names().await else {
                return;
            };
            let cutoff = unix_secs().saturating_sub(STALE_AFTER_SECS);
            // Named by `mongo_collection`: `r<unix seconds>_<namespace>`.
            for name in names {
                let stamp = name
                    .strip_prefix('r')
                    .and_then(|rest| rest.split_once('_'))
                    .and_then(|(secs, _)| secs.parse::<u64>().ok());
                if stamp.is_some_and(|secs| secs < cutoff) {
                    let _ = db.collection::<Document>(&name).drop().await;
                }
            }
        })
        .await;
}

/// A conformance store: `MongoStore::connect`, which fails fast (a transient error) when the
/// server is down, so the harness skips.
async fn make(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = MongoStore::connect(&mongodb_url(), DB, &mongo_collection(&namespace)).await?;
    sweep_stale_collections().await;
    Ok(Arc::new(
        store
            .with_max_record_bytes(MAX_RECORD_BYTES)
            .with_expiry_resolution(ExpiryResolution::Exact),
    ))
}

// The conformance suite runs in the exact mode (every rolling read rewrites the expiry); the
// default resolution has its own test below.
session_testkit::conformance_suite!(mongo, make);

/// A plain driver client with a short server selection timeout.
async fn driver() -> Result<Client> {
    let mut options = ClientOptions::parse(mongodb_url())
        .await
        .map_err(|e| Error::config("mongo", format!("MONGODB_URL: {e}")))?;
    options.server_selection_timeout = Some(StdDuration::from_secs(3));
    Client::with_options(options).map_err(|e| Error::config("mongo", format!("MONGODB_URL: {e}")))
}

/// A client and a fresh collection name for an extra test, or `None` (after a loud message, or a
/// panic under `CI=true`) when the server is unreachable.
async fn setup(test: &str) -> Option<(Client, String)> {
    let client = driver().await.unwrap();
    if let Err(e) = client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await
    {
        session_testkit::unreachable("mongo", test, &e);
        return None;
    }
    sweep_stale_collections().await;
    Some((client, mongo_collection(&unique_name(test))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_reads_rewrite_only_a_lagging_expiry() {
    let Some((client, name)) = setup("resolution").await else {
        return;
    };
    let base = store(&client, &name).await;
    let raw = coll(&client, &name);
    session_testkit::resolution::rolling_reads_rewrite_only_a_lagging_expiry(
        |r| Arc::new(base.clone().with_expiry_resolution(r)),
        |id| {
            let raw = raw.clone();
            async move {
                let found = raw.find_one(doc! { "_id": id }).await.unwrap().unwrap();
                found.get_datetime("expiresAt").unwrap().timestamp_millis()
            }
        },
    )
    .await;
    drop_collection(&client, &name).await;
}

fn coll(client: &Client, name: &str) -> Collection<Document> {
    client.database(DB).collection(name)
}

async fn drop_collection(client: &Client, name: &str) {
    coll(client, name).drop().await.unwrap();
}

async fn store(client: &Client, name: &str) -> MongoStore {
    MongoStore::new(client.clone(), DB, name).await.unwrap()
}

async fn get(store: &MongoStore, key: &SessionKey, rolling: bool) -> Option<SessionData> {
    store.get(key, LONG, rolling).await.unwrap()
}

async fn set(store: &MongoStore, key: &SessionKey, d: &SessionData, max_age: Duration) {
    store.set(key, d, max_age, true).await.unwrap();
}

async fn count(c: &Collection<Document>, filter: Document) -> u64 {
    c.count_documents(filter).await.unwrap()
}

/// The single-field indexes on `expiresAt`, as `(name, expireAfterSeconds)`.
async fn expires_at_indexes(c: &Collection<Document>) -> Vec<(String, Option<i64>)> {
    let reply = c
        .client()
        .database(DB)
        .run_command(doc! { "listIndexes": c.name() })
        .await
        .expect("listIndexes");
    let batch = reply
        .get_document("cursor")
        .and_then(|cursor| cursor.get_array("firstBatch"))
        .expect("listIndexes reply");
    batch
        .iter()
        .filter_map(Bson::as_document)
        .filter(|spec| {
            spec.get_document("key")
                .is_ok_and(|key| key.len() == 1 && key.contains_key("expiresAt"))
        })
        .map(|spec| {
            let ttl = match spec.get("expireAfterSeconds") {
                Some(Bson::Int32(n)) => Some(i64::from(*n)),
                Some(Bson::Int64(n)) => Some(*n),
                #[allow(clippy::cast_possible_truncation)]
                Some(Bson::Double(n)) => Some(*n as i64),
                _ => None,
            };
            (spec.get_str("name").unwrap_or("?").to_owned(), ttl)
        })
        .collect()
}

/// The TTL index really deletes: with the monitor set to wake every second, an expired document
/// disappears from the collection, while reads stop returning it the moment it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_index_physically_removes_expired_sessions() {
    let Some((client, name)) = setup("ttl_index_physically_removes").await else {
        return;
    };
    // mongod's TTL monitor wakes every 60 s by default. Servers that refuse the parameter keep
    // their own schedule, hence the long bound below.
    let monitor = client
        .database("admin")
        .run_command(doc! { "setParameter": 1, "ttlMonitorSleepSecs": 1 })
        .await;
    if let Err(e) = &monitor {
        eprintln!("mongo: setParameter ttlMonitorSleepSecs=1 refused ({e}); waiting up to 70 s");
    }
    let store = store(&client, &name).await;
    let c = coll(&client, &name);
    let (short, long) = (SessionKey::generate(), SessionKey::generate());
    let d = data(json!({"user": "alice"}));
    set(&store, &long, &d, LONG).await;
    set(&store, &short, &d, Duration::seconds(1)).await;
    let written = Instant::now();
    assert_eq!(get(&store, &short, false).await, Some(d.clone()));
    assert_eq!(count(&c, doc! { "_id": short.as_str() }).await, 1);

    tokio::time::sleep(StdDuration::from_millis(1050).saturating_sub(written.elapsed())).await;
    let still_stored = count(&c, doc! { "_id": short.as_str() }).await;
    assert_eq!(
        get(&store, &short, false).await,
        None,
        "read an expired session"
    );
    assert_eq!(
        get(&store, &short, true).await,
        None,
        "rolling read of an expired session"
    );
    eprintln!(
        "mongo: at expiry the document was still stored: {}",
        still_stored == 1
    );

    let bound = StdDuration::from_secs(if monitor.is_ok() { 20 } else { 70 });
    let waiting = Instant::now();
    while count(&c, doc! { "_id": short.as_str() }).await > 0 {
        assert!(
            waiting.elapsed() < bound,
            "the expired document was still stored {bound:?} after expiry"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    eprintln!(
        "mongo: the TTL monitor removed the expired document {:.1} s after expiry",
        written.elapsed().as_secs_f64() - 1.0
    );
    assert_eq!(
        count(&c, doc! { "_id": long.as_str() }).await,
        1,
        "the TTL index deleted a live session"
    );
    assert_eq!(get(&store, &long, false).await, Some(d));
    drop_collection(&client, &name).await;
}

/// A document from before versions (an `ss1` record, no `version` field), inserted raw, loads
/// with the legacy version; `write_if` at another version is a conflict and leaves it as it was;
/// at the legacy version it becomes an `ss2` record with the new version in the `version` field,
/// after which the legacy version is a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ss1_documents_are_read_and_upgraded_on_write() {
    let Some((client, name)) = setup("ss1_upgrade").await else {
        return;
    };
    let store = store(&client, &name).await;
    let c = coll(&client, &name);
    let key = SessionKey::generate();
    let old = LegacyRecord::new();
    let planted = doc! {
        "_id": key.as_str(),
        "data": old.bytes.as_str(),
        "expiresAt": DateTime::from_millis(old.expires_at),
    };
    c.insert_one(planted.clone()).await.unwrap();
    let by_key = || doc! { "_id": key.as_str() };
    let version = old
        .upgrade(&store, &key, || async {
            c.find_one(by_key()).await.unwrap() == Some(planted.clone())
        })
        .await;
    let raw = c.find_one(by_key()).await.unwrap().expect("no document");
    let record = raw.get_str("data").expect("data");
    assert!(
        record
            .as_bytes()
            .starts_with(&session_core::version_prefix(version)),
        "{record}"
    );
    assert_eq!(
        raw.get_i64("version").ok(),
        Some(i64::from_ne_bytes(version.as_u64().to_ne_bytes()))
    );
    drop_collection(&client, &name).await;
}

/// The stored document: `_id` the key, `data` the record string, `expiresAt` a BSON Date from the
/// application clock, which a rolling read moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_hold_the_record_string_and_a_date_expiry() {
    let Some((client, name)) = setup("document_shape").await else {
        return;
    };
    let store = store(&client, &name).await;
    let c = coll(&client, &name);
    let key = SessionKey::generate();
    let d = data(json!({"big": u64::MAX, "$set": {"a.b": "x\u{0}y"}, "neg_zero": -0.0}));
    let before = now_ms();
    set(&store, &key, &d, Duration::minutes(10)).await;
    let after = now_ms();
    let raw = c
        .find_one(doc! { "_id": key.as_str() })
        .await
        .unwrap()
        .expect("no document");
    let record = raw.get_str("data").expect("data");
    assert!(record.starts_with("ss2:"), "{record}");
    // The version field holds the header's version, as the same 64 bits.
    let version = session_core::decode(record.as_bytes()).unwrap().version;
    assert_eq!(
        raw.get_i64("version").ok(),
        Some(i64::from_ne_bytes(version.as_u64().to_ne_bytes()))
    );
    let expiry = raw
        .get_datetime("expiresAt")
        .expect("expiresAt")
        .timestamp_millis();
    assert!(
        (before + 600_000..=after + 600_000).contains(&expiry),
        "expiresAt {expiry}"
    );
    assert_eq!(get(&store, &key, false).await, Some(d.clone()));

    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let rolled_from = now_ms();
    assert_eq!(get(&store, &key, true).await, Some(d));
    let raw = c
        .find_one(doc! { "_id": key.as_str() })
        .await
        .unwrap()
        .expect("no document");
    let rolled = raw
        .get_datetime("expiresAt")
        .expect("expiresAt")
        .timestamp_millis();
    assert!(
        rolled >= rolled_from + 3_600_000,
        "rolling get did not move expiresAt"
    );
    assert_eq!(
        raw.get_str("data").ok(),
        Some(record),
        "rolling get rewrote the data"
    );
    drop_collection(&client, &name).await;
}

/// Building the store twice on one collection (two app instances starting) works and leaves one
/// TTL index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_the_store_twice_on_one_collection_works() {
    let Some((client, name)) = setup("built_twice").await else {
        return;
    };
    let first = store(&client, &name).await;
    let second = store(&client, &name).await;
    let (third, fourth) = tokio::join!(
        MongoStore::new(client.clone(), DB, &name),
        MongoStore::new(client.clone(), DB, &name)
    );
    assert!(third.is_ok() && fourth.is_ok(), "{third:?} {fourth:?}");
    let c = coll(&client, &name);
    assert_eq!(
        expires_at_indexes(&c).await,
        vec![("expiresAt_1".to_owned(), Some(0))]
    );
    let key = SessionKey::generate();
    let d = data(json!({"n": 1}));
    set(&first, &key, &d, LONG).await;
    assert_eq!(get(&second, &key, false).await, Some(d));
    drop_collection(&client, &name).await;
}

/// A TTL index on `expiresAt` with another `expireAfterSeconds` is changed to 0 with `collMod`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ttl_index_with_another_expiry_is_reconciled() {
    let Some((client, name)) = setup("ttl_reconciled").await else {
        return;
    };
    let c = coll(&client, &name);
    let model = IndexModel::builder()
        .keys(doc! { "expiresAt": 1 })
        .options(
            IndexOptions::builder()
                .name("custom_ttl".to_owned())
                .expire_after(StdDuration::from_secs(3600))
                .build(),
        )
        .build();
    c.create_index(model).await.expect("creating the old index");
    let store = store(&client, &name).await;
    assert_eq!(
        expires_at_indexes(&c).await,
        vec![("custom_ttl".to_owned(), Some(0))],
        "the TTL index was not reconciled in place"
    );
    let key = SessionKey::generate();
    set(&store, &key, &data(json!({"ok": true})), LONG).await;
    assert!(get(&store, &key, false).await.is_some());
    drop_collection(&client, &name).await;
}

/// A plain (non-TTL) index on `expiresAt` is a typed configuration error naming the index, never
/// a panic, and the index is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_ttl_index_on_expires_at_is_a_config_error() {
    let Some((client, name)) = setup("plain_index").await else {
        return;
    };
    let c = coll(&client, &name);
    let model = IndexModel::builder()
        .keys(doc! { "expiresAt": 1 })
        .options(IndexOptions::builder().name("by_expiry".to_owned()).build())
        .build();
    c.create_index(model)
        .await
        .expect("creating the plain index");
    for _ in 0..2 {
        match MongoStore::new(client.clone(), DB, &name).await {
            Err(Error::Config { message, .. }) => {
                assert!(message.contains("by_expiry"), "{message}");
            }
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }
    assert_eq!(
        expires_at_indexes(&c).await,
        vec![("by_expiry".to_owned(), None)]
    );
    drop_collection(&client, &name).await;
}

/// Documents corrupted behind the store's back (garbage, wrong BSON types, a newer format, a
/// missing field) read as `Error::Decode`, stay as they were, and do not disturb their
/// neighbours; a changed `set` repairs one and `destroy` removes another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_documents_are_decode_errors_and_neighbours_are_untouched() {
    let Some((client, name)) = setup("corrupted").await else {
        return;
    };
    let store = store(&client, &name).await;
    let c = coll(&client, &name);
    let neighbour = SessionKey::generate();
    let good = data(json!({"user": "bob"}));
    set(&store, &neighbour, &good, LONG).await;

    let expires = DateTime::from_millis(now_ms() + 3_600_000);
    let binary = Binary {
        subtype: BinarySubtype::Generic,
        bytes: b"ss1:1:{}".to_vec(),
    };
    let corrupt: Vec<(SessionKey, Document)> = [
        doc! { "data": "garbage" },
        doc! { "data": 42_i32 },
        doc! { "data": { "user": "a document, not a record" } },
        doc! { "data": binary },
        doc! { "data": format!("ss2:{}:{{}}", now_ms() + 3_600_000) },
        doc! { "data": "ss1:1:{\"truncated\":" },
        doc! {},
    ]
    .into_iter()
    .map(|mut d| {
        let key = SessionKey::generate();
        d.insert("_id", key.as_str());
        d.insert("expiresAt", expires);
        (key, d)
    })
    .collect();
    c.insert_many(corrupt.iter().map(|(_, d)| d))
        .await
        .expect("inserting corrupt documents");

    for (key, original) in &corrupt {
        for rolling in [false, true] {
            match store.get(key, LONG, rolling).await {
                Err(e @ Error::Decode(_)) => assert!(!e.is_transient()),
                other => panic!("{original:?} (rolling {rolling}): expected Decode, got {other:?}"),
            }
        }
        let now = c
            .find_one(doc! { "_id": key.as_str() })
            .await
            .unwrap()
            .expect("a corrupt document vanished");
        assert_eq!(
            now.get("data"),
            original.get("data"),
            "a read changed the stored data"
        );
    }
    assert_eq!(get(&store, &neighbour, false).await, Some(good.clone()));
    assert_eq!(get(&store, &neighbour, true).await, Some(good));

    let repaired = data(json!({"fresh": true}));
    set(&store, &corrupt[0].0, &repaired, LONG).await;
    assert_eq!(get(&store, &corrupt[0].0, false).await, Some(repaired));
    store.destroy(&corrupt[1].0).await.unwrap();
    assert_eq!(get(&store, &corrupt[1].0, false).await, None);
    drop_collection(&client, &name).await;
}

/// Nothing listening: `connect` fails within seconds with a transient error.
#[tokio::test]
async fn connect_to_a_closed_port_fails_fast_and_transient() {
    let started = Instant::now();
    let result = MongoStore::connect("mongodb://127.0.0.1:1", DB, "sessions").await;
    match result {
        Err(e) => assert!(e.is_transient(), "{}", error_chain(&e)),
        Ok(store) => panic!("connected to a closed port: {store:?}"),
    }
    assert!(
        started.elapsed() < StdDuration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A server that accepts connections and never answers: construction gives up with a transient
/// error instead of hanging.
#[tokio::test]
async fn a_server_that_never_answers_gives_a_transient_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().map(|a| a.port()).unwrap();
    let black_hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let url = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    match MongoStore::connect(&url, DB, "sessions").await {
        Err(e) => assert!(e.is_transient(), "{}", error_chain(&e)),
        Ok(store) => panic!("a silent server produced a store: {store:?}"),
    }
    assert!(
        started.elapsed() < StdDuration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    black_hole.abort();
}

/// A store built without naming a collection keeps its sessions in `sessions`, and `build` gave
/// that collection the TTL index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_keeps_sessions_in_the_sessions_collection_by_default() {
    let Some((client, name)) = setup("default_collection").await else {
        return;
    };
    // A database of its own, so that its `sessions` collection is this test's alone.
    let database = client.database(&name);
    let store = MongoStore::builder(client.clone(), &name)
        .build()
        .await
        .unwrap();
    let sessions = database.collection::<Document>(session_mongo::DEFAULT_COLLECTION);
    let indexes = sessions.list_index_names().await.unwrap();
    assert!(indexes.contains(&"expiresAt_1".to_owned()), "{indexes:?}");
    let key = SessionKey::generate();
    set(&store, &key, &data(json!({"n": 1})), LONG).await;
    assert_eq!(count(&sessions, doc! { "_id": key.as_str() }).await, 1);
    database.drop().await.unwrap();
}
