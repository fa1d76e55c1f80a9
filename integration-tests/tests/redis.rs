//! `RedisStore` against real servers: the conformance suite on a single node (`redis::…`) and on
//! a Redis Cluster (`redis_cluster::…`), unreadable records written with the driver directly, and
//! dead or stalled servers.
//!
//! Needs:
//! - `REDIS_URL`, default `redis://127.0.0.1:6379`: a single Redis node (6.2 or later, for GETEX);
//! - `REDIS_CLUSTER_URLS`, comma-separated, default
//!   `redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103`: any nodes of a
//!   Redis Cluster;
//! - `redis-server` on the `PATH` for the tests that stop and restart a server of their own.
//!
//! Start them with `bash scripts/test.sh` (which also runs the tests), or
//! `source scripts/services.sh && start_all`. Run just these tests with
//! `cargo test -p integration-tests --test redis`. A missing server skips the tests loudly, or
//! fails them under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

// `::redis` is the driver; plain `redis` would also name the test module the suite macro makes.
use ::redis::AsyncCommands;
use session_core::{Duration, Error, ExpiryResolution, Result, SessionKey, SessionStore};
use session_redis::RedisStore;
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::{
    LegacyRecord, RedisServer, data, error_chain, free_port, reachable, redis_cluster_urls,
    redis_url, unique_name, unreachable,
};

/// Slack on top of a configured timeout before a test calls it a hang: scheduling, the
/// driver's connect, a loaded CI machine.
const MARGIN: StdDuration = StdDuration::from_millis(1000);

/// Each check's keys live under `<namespace>:`.
fn in_namespace(store: RedisStore, namespace: &str) -> Arc<dyn SessionStore> {
    Arc::new(
        store
            .with_prefix(format!("{namespace}:"))
            .with_max_record_bytes(MAX_RECORD_BYTES),
    )
}

/// The exact mode: every rolling read runs the extend script.
async fn make(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = RedisStore::connect(&redis_url()).await?;
    Ok(in_namespace(
        store.with_expiry_resolution(ExpiryResolution::Exact),
        &namespace,
    ))
}

async fn make_cluster(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = RedisStore::connect_cluster(&redis_cluster_urls()).await?;
    Ok(in_namespace(
        store.with_expiry_resolution(ExpiryResolution::Exact),
        &namespace,
    ))
}

/// The default resolution: a rolling read of a fresh TTL is `GET` + `PTTL`.
async fn make_default(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = RedisStore::connect(&redis_url()).await?;
    Ok(in_namespace(store, &namespace))
}

async fn make_cluster_default(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = RedisStore::connect_cluster(&redis_cluster_urls()).await?;
    Ok(in_namespace(store, &namespace))
}

session_testkit::conformance_suite!(redis, make);
session_testkit::conformance_suite!(redis_cluster, make_cluster);
session_testkit::conformance_suite!(redis_default_resolution, make_default);
session_testkit::conformance_suite!(redis_cluster_default_resolution, make_cluster_default);

/// A rolling read moves the TTL only when it lags by more than the resolution (read back with
/// `PEXPIRETIME`), on a single node and on a cluster.
async fn rolling_reads_move_only_a_lagging_ttl(cluster: bool) {
    let Some((store, raw, prefix)) = store_and_raw(cluster, "resolution").await else {
        return;
    };
    session_testkit::resolution::rolling_reads_rewrite_only_a_lagging_expiry(
        |r| Arc::new(store.clone().with_expiry_resolution(r)),
        |id| {
            let mut raw = raw.clone();
            let key = format!("{prefix}{id}");
            async move { raw.pexpiretime(&key).await }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_reads_move_only_a_lagging_ttl_on_a_single_node() {
    rolling_reads_move_only_a_lagging_ttl(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_reads_move_only_a_lagging_ttl_on_a_cluster() {
    rolling_reads_move_only_a_lagging_ttl(true).await;
}

/// The driver's raw commands on the same server as a store, to plant and inspect values.
#[derive(Clone)]
enum Raw {
    Single(::redis::aio::MultiplexedConnection),
    Cluster(::redis::cluster_async::ClusterConnection),
}

impl Raw {
    async fn set(&mut self, key: &str, value: &[u8]) {
        let r: ::redis::RedisResult<()> = match self {
            Raw::Single(c) => c.set(key, value).await,
            Raw::Cluster(c) => c.set(key, value).await,
        };
        r.expect("raw SET failed");
    }

    async fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let r: ::redis::RedisResult<Option<Vec<u8>>> = match self {
            Raw::Single(c) => c.get(key).await,
            Raw::Cluster(c) => c.get(key).await,
        };
        r.expect("raw GET failed")
    }

    async fn pttl(&mut self, key: &str) -> i64 {
        let r: ::redis::RedisResult<i64> = match self {
            Raw::Single(c) => c.pttl(key).await,
            Raw::Cluster(c) => c.pttl(key).await,
        };
        r.expect("raw PTTL failed")
    }

    /// The key's absolute expiry in epoch ms (`PEXPIRETIME`, Redis 7).
    async fn pexpiretime(&mut self, key: &str) -> i64 {
        let mut cmd = ::redis::cmd("PEXPIRETIME");
        cmd.arg(key);
        let r: ::redis::RedisResult<i64> = match self {
            Raw::Single(c) => cmd.query_async(c).await,
            Raw::Cluster(c) => cmd.query_async(c).await,
        };
        r.expect("raw PEXPIRETIME failed")
    }
}

/// A store under a fresh prefix plus a raw connection to the same server, or `None` (after
/// [`unreachable`]) when the server is down.
async fn store_and_raw(cluster: bool, test: &str) -> Option<(RedisStore, Raw, String)> {
    let backend = if cluster { "redis_cluster" } else { "redis" };
    let connected = if cluster {
        RedisStore::connect_cluster(&redis_cluster_urls()).await
    } else {
        RedisStore::connect(&redis_url()).await
    };
    let store = reachable(backend, test, connected)?;
    let raw = if cluster {
        let client = ::redis::cluster::ClusterClient::new(redis_cluster_urls()).unwrap();
        Raw::Cluster(client.get_async_connection().await.unwrap())
    } else {
        let client = ::redis::Client::open(redis_url()).unwrap();
        Raw::Single(client.get_multiplexed_async_connection().await.unwrap())
    };
    let prefix = format!("{}:", unique_name(test));
    Some((store.with_prefix(prefix.clone()), raw, prefix))
}

/// Garbage bytes and a record from a future format version read as `Error::Decode`, on both the
/// plain and the rolling path; the bad value stays as it was and a neighbouring session is
/// untouched.
async fn unreadable_records_are_decode_errors(cluster: bool) {
    let Some((store, mut raw, prefix)) = store_and_raw(cluster, "unreadable_records").await else {
        return;
    };
    let neighbour = SessionKey::generate();
    let neighbour_data = data(serde_json::json!({"user": "neighbour"}));
    store
        .set(&neighbour, &neighbour_data, Duration::hours(1), true)
        .await
        .unwrap();

    let planted: [&[u8]; 5] = [
        b"\xff\x00\x13garbage",
        b"ss9:123:{}",
        b"ss1:notanumber:{}",
        b"ss1:99999999999999:{\"truncated\":",
        b"",
    ];
    for bytes in planted {
        let key = SessionKey::generate();
        let redis_key = format!("{prefix}{}", key.as_str());
        raw.set(&redis_key, bytes).await;
        for rolling in [false, true] {
            match store.get(&key, Duration::hours(1), rolling).await {
                Err(Error::Decode(_)) => {}
                other => panic!("{bytes:?} (rolling={rolling}) gave {other:?}, not a decode error"),
            }
        }
        assert_eq!(
            raw.get(&redis_key).await.as_deref(),
            Some(bytes),
            "reading an unreadable record changed it"
        );
    }
    assert_eq!(
        store
            .get(&neighbour, Duration::hours(1), false)
            .await
            .unwrap(),
        Some(neighbour_data),
        "a neighbouring session changed"
    );
}

#[tokio::test]
async fn redis_unreadable_records_are_decode_errors() {
    unreadable_records_are_decode_errors(false).await;
}

#[tokio::test]
async fn redis_cluster_unreadable_records_are_decode_errors() {
    unreadable_records_are_decode_errors(true).await;
}

/// A record in the format before versions (`ss1`), planted raw, loads with the legacy version;
/// `write_if` at another version is a conflict and leaves it byte for byte, `write_if` at the
/// legacy version rewrites it as `ss2` (with a TTL) under the new version, after which the
/// legacy version is a conflict.
async fn ss1_records_are_read_and_upgraded_on_write(cluster: bool) {
    let Some((store, mut raw, prefix)) = store_and_raw(cluster, "ss1_upgrade").await else {
        return;
    };
    let key = SessionKey::generate();
    let redis_key = format!("{prefix}{}", key.as_str());
    let old = LegacyRecord::new();
    raw.set(&redis_key, old.bytes.as_bytes()).await;
    let mut check = raw.clone();
    let version = old
        .upgrade(&store, &key, || async {
            check.get(&redis_key).await.as_deref() == Some(old.bytes.as_bytes())
        })
        .await;
    let stored = raw.get(&redis_key).await.unwrap();
    assert!(
        stored.starts_with(&session_core::version_prefix(version)),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    assert!(
        raw.pttl(&redis_key).await > 3_000_000,
        "no TTL after write_if"
    );
    store.destroy(&key).await.unwrap();
}

#[tokio::test]
async fn redis_ss1_records_are_read_and_upgraded_on_write() {
    ss1_records_are_read_and_upgraded_on_write(false).await;
}

#[tokio::test]
async fn redis_cluster_ss1_records_are_read_and_upgraded_on_write() {
    ss1_records_are_read_and_upgraded_on_write(true).await;
}

/// The Redis TTL is what the store moves: SET … PX on write, PEXPIRE on a touch, the extend script on a
/// lagging rolling read, nothing on a plain read.
async fn ttl_follows_max_age(cluster: bool) {
    let Some((store, mut raw, prefix)) = store_and_raw(cluster, "ttl_follows_max_age").await else {
        return;
    };
    let key = SessionKey::generate();
    let redis_key = format!("{prefix}{}", key.as_str());
    let hours = |h: i64| h * 3_600_000;
    let assert_ttl_near = |ttl: i64, want: i64, what: &str| {
        assert!(
            ttl <= want && ttl > want - 60_000,
            "{what}: PTTL {ttl} ms, expected about {want} ms"
        );
    };
    let d = data(serde_json::json!({"n": 1}));
    store.set(&key, &d, Duration::hours(1), true).await.unwrap();
    assert_ttl_near(raw.pttl(&redis_key).await, hours(1), "after set");

    let other = data(serde_json::json!({"n": 2}));
    store
        .set(&key, &other, Duration::hours(2), false)
        .await
        .unwrap();
    assert_ttl_near(raw.pttl(&redis_key).await, hours(2), "after touch");

    let read = |rolling: bool, h: i64| {
        let store = store.clone();
        let key = key.clone();
        async move { store.get(&key, Duration::hours(h), rolling).await.unwrap() }
    };
    assert_eq!(read(false, 5).await, Some(d.clone()));
    assert_ttl_near(raw.pttl(&redis_key).await, hours(2), "after a plain read");
    assert_eq!(read(true, 3).await, Some(d));
    assert_ttl_near(raw.pttl(&redis_key).await, hours(3), "after a rolling read");

    store.destroy(&key).await.unwrap();
    assert_eq!(raw.pttl(&redis_key).await, -2, "destroy left the key");
}

#[tokio::test]
async fn redis_ttl_follows_max_age() {
    ttl_follows_max_age(false).await;
}

#[tokio::test]
async fn redis_cluster_ttl_follows_max_age() {
    ttl_follows_max_age(true).await;
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_fast_with_a_transient_error() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    for cluster in [false, true] {
        let started = Instant::now();
        let connected = if cluster {
            RedisStore::connect_cluster(std::slice::from_ref(&url)).await
        } else {
            RedisStore::connect(&url).await
        };
        let err = connected.expect_err("nothing listens on the port");
        assert!(err.is_transient(), "{}", error_chain(&err));
        assert!(
            started.elapsed() < session_redis::DEFAULT_TIMEOUT + MARGIN,
            "cluster={cluster}: took {:?}",
            started.elapsed()
        );
    }
}

/// Asserts that `op` fails with a transient error within `timeout` + [`MARGIN`].
async fn fails_transiently_in_time<F, T>(what: &str, timeout: StdDuration, op: F) -> Error
where
    F: std::future::Future<Output = Result<T>>,
    T: std::fmt::Debug,
{
    let started = Instant::now();
    // The outer bound turns a hang into a failure instead of a stuck test run.
    let result = tokio::time::timeout(timeout + MARGIN * 5, op)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"));
    let elapsed = started.elapsed();
    let err = match result {
        Err(e) => e,
        Ok(v) => panic!("{what}: succeeded ({v:?}) against a dead server"),
    };
    assert!(err.is_transient(), "{what}: {}", error_chain(&err));
    assert!(
        elapsed < timeout + MARGIN,
        "{what}: took {elapsed:?} with a timeout of {timeout:?}"
    );
    err
}

/// One store through a stall, a crash and a restart of its server: a stalled server times out
/// within the configured timeout, a dead one gives a transient error, and after the restart the
/// same store works again on its very next operation (the ConnectionManager reconnects and the
/// store retries the dropped connection once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_then_dead_server_fails_in_time_and_the_store_serves_after_its_restart() {
    let mut server = match RedisServer::start(free_port(), &[]).await {
        Ok(server) => server,
        Err(e) => return unreachable("redis", "own redis-server", &e),
    };
    let timeout = StdDuration::from_millis(300);
    let store = RedisStore::connect(&server.url())
        .await
        .unwrap()
        .with_timeout(timeout);
    let key = SessionKey::generate();
    let d = data(serde_json::json!({"user": "alice"}));
    let long = Duration::hours(1);
    store.set(&key, &d, long, true).await.unwrap();

    // Stalled: the process is paused, the socket stays open, nothing answers.
    server.signal("-STOP");
    let err = fails_transiently_in_time(
        "get on a stalled server",
        timeout,
        store.get(&key, long, false),
    )
    .await;
    assert!(err.is_timeout(), "{}", error_chain(&err));
    fails_transiently_in_time(
        "set on a stalled server",
        timeout,
        store.set(&key, &d, long, true),
    )
    .await;
    server.signal("-CONT");
    assert_eq!(store.get(&key, long, true).await.unwrap(), Some(d.clone()));

    // Dead: connections reset, reconnection refused.
    server.kill();
    for round in 0..3 {
        fails_transiently_in_time(
            &format!("get on a dead server, round {round}"),
            timeout,
            store.get(&key, long, false),
        )
        .await;
    }
    fails_transiently_in_time("destroy on a dead server", timeout, store.destroy(&key)).await;

    // Let the ConnectionManager's background reconnection attempts run out, so that the store
    // holds a failed connection when the server comes back: the first operation then meets
    // "connection refused" and only succeeds because the store retries it once.
    tokio::time::sleep(StdDuration::from_secs(2)).await;

    // Restarted (empty: no persistence). The first operation must succeed.
    server.restart().await;
    let store = store.with_timeout(session_redis::DEFAULT_TIMEOUT);
    store.set(&key, &d, long, true).await.unwrap();
    assert_eq!(store.get(&key, long, false).await.unwrap(), Some(d));
}
