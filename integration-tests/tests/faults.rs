//! Every network store under injected faults: a [`FaultProxy`] between the store and its real
//! server stalls, resets and refuses connections while tasks keep reading and writing, and a
//! test-owned `redis-server` is killed with SIGKILL and restarted under load.
//!
//! For each backend (Redis, a Redis Cluster of three test-owned nodes behind proxies, MariaDB or
//! MySQL, PostgreSQL, a MongoDB-compatible server) the tests show that
//! - during an outage every operation fails with a transient error within the configured timeout
//!   plus [`MARGIN`], and nothing hangs (an outer timeout turns a hang into a failure) or panics;
//! - after the fault heals, the same store object serves again within [`RECOVERY`];
//! - no operation ever returns another key's data, a version its writer never wrote, data a touch
//!   was given, or a record that was overwritten or destroyed (see [`Ledger`]).
//!
//! Needs `REDIS_URL` (default `redis://127.0.0.1:6379`), `MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`), `POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), `MONGODB_URL` (default `mongodb://127.0.0.1:27017`), and
//! `redis-server` on the `PATH` for the cluster and restart tests. Start them with
//! `source scripts/services.sh && start_all`, then
//! `cargo test -p integration-tests --test faults`. A missing server skips loudly, or fails under
//! `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use session_core::{Duration, Result, SessionData, SessionKey, SessionStore};
use session_mongo::MongoStore;
use session_mysql::MySqlStore;
use session_postgres::PgStore;
use session_redis::RedisStore;
use session_testkit::proxy::{FaultProxy, Mode};
use session_testkit::{
    RedisServer, error_chain, free_cluster_port, free_port, mongo_collection, mongodb_url,
    mysql_url, postgres_url, reachable, redis_url, unique_name, unreachable,
};

/// The per-operation timeout every store gets here: short, so outages are quick to observe.
const OP_TIMEOUT: StdDuration = StdDuration::from_millis(500);
/// Slack on top of [`OP_TIMEOUT`]: scheduling on a loaded two-core CI machine.
const MARGIN: StdDuration = StdDuration::from_millis(500);
/// How long after a fault heals the same store must serve again.
const RECOVERY: StdDuration = StdDuration::from_secs(2);
/// An operation still running this long has hung: the test fails instead of waiting forever.
const HANG: StdDuration = StdDuration::from_secs(5);
/// How long each fault lasts while the load runs.
const FAULT_LENGTH: StdDuration = StdDuration::from_millis(800);
/// Concurrent tasks, each reading and writing a key of its own.
const TASKS: usize = 12;
const LONG: Duration = Duration::minutes(10);

// ---------------------------------------------------------------------------------------------
// What a task may legitimately read back.

/// One task's knowledge of its own key, to judge every read.
///
/// Every write carries a version unique within the task. A write that succeeded makes its version
/// the only one a read may return (`committed`), a successful destroy makes that `None`. A write
/// or destroy that failed may or may not have reached the server, possibly late (a stalled
/// connection delivers it once the fault heals), so its outcome stays possible for ever
/// (`unknown`). A read must return `committed` or one of `unknown`: anything else is another
/// key's data, a stale overwritten record, a destroyed record come back, or data a touch was given.
#[derive(Debug, Default)]
struct Ledger {
    committed: Option<u64>,
    unknown: HashSet<Option<u64>>,
    /// Value of the shared data-loss epoch when `committed` was written (see [`Load`]).
    committed_epoch: u64,
}

impl Ledger {
    fn allows(&self, read: Option<u64>, epoch_now: u64) -> bool {
        read == self.committed
            || self.unknown.contains(&read)
            // A server restarted without persistence since the write: the record may be gone.
            || (read.is_none() && epoch_now > self.committed_epoch)
    }
}

/// The version a touch is given as data: a touch must never write it.
const TOUCH_VERSION: u64 = u64::MAX;

fn payload(key: &SessionKey, version: u64) -> SessionData {
    let mut d = SessionData::new();
    let put = |d: &mut SessionData, k: &str, v: serde_json::Value| {
        d.insert(k, v).unwrap();
    };
    put(&mut d, "owner", key.as_str().into());
    put(&mut d, "v", version.into());
    // Records of different sizes, so a mix-up of responses cannot go unnoticed by length alone.
    put(&mut d, "pad", "x".repeat((version % 97) as usize).into());
    d
}

/// The version in data read back for `key`, or a description of what is wrong with it.
fn version_of(key: &SessionKey, data: &SessionData) -> std::result::Result<u64, String> {
    let owner = data.get::<String>("owner").ok().flatten();
    if owner.as_deref() != Some(key.as_str()) {
        return Err("a read returned another key's data".to_owned());
    }
    let v = data.get::<u64>("v").ok().flatten();
    let pad = data.get::<String>("pad").ok().flatten();
    match (v, pad) {
        (Some(v), Some(pad)) if pad.len() == (v % 97) as usize => Ok(v),
        _ => Err("a read returned a mangled record".to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// The load: tasks hammering their own keys while faults come and go.

/// What the load saw, for the verdict and the report.
#[derive(Debug, Default)]
struct Outcome {
    ok: u64,
    transient: u64,
    /// Broken guarantees; the test fails when not empty.
    violations: Vec<String>,
    /// Per task, the instants of successful operations.
    successes: Vec<Vec<Instant>>,
    /// The slowest failed operation.
    slowest_failure: StdDuration,
}

/// Tasks running get / rolling get / set / touch / destroy on one key each until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    /// Bumped after a server lost its data (a restart without persistence).
    epoch: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<TaskOutcome>>,
}

#[derive(Debug, Default)]
struct TaskOutcome {
    ok: u64,
    transient: u64,
    violations: Vec<String>,
    successes: Vec<Instant>,
    slowest_failure: StdDuration,
}

impl Load {
    fn start(store: Arc<dyn SessionStore>, tasks: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let tasks = (0..tasks)
            .map(|i| {
                let store = Arc::clone(&store);
                let stop = Arc::clone(&stop);
                let epoch = Arc::clone(&epoch);
                tokio::spawn(async move { run_task(i, &*store, &stop, &epoch).await })
            })
            .collect();
        Load { stop, epoch, tasks }
    }

    fn data_lost(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    async fn finish(self) -> Outcome {
        self.stop.store(true, Ordering::SeqCst);
        let mut out = Outcome::default();
        for task in self.tasks {
            match task.await {
                Ok(t) => {
                    out.ok += t.ok;
                    out.transient += t.transient;
                    out.violations.extend(t.violations);
                    out.successes.push(t.successes);
                    out.slowest_failure = out.slowest_failure.max(t.slowest_failure);
                }
                Err(e) => out.violations.push(format!("a load task panicked: {e}")),
            }
        }
        out
    }
}

enum Step<T> {
    Ok(T),
    Failed,
}

/// Runs one operation under the hang guard, files its result, and says whether it succeeded.
async fn step<T>(
    out: &mut TaskOutcome,
    what: &str,
    op: impl std::future::Future<Output = Result<T>>,
) -> Step<T> {
    let started = Instant::now();
    let result = tokio::time::timeout(HANG, op).await;
    let elapsed = started.elapsed();
    match result {
        Err(_) => {
            out.violations.push(format!("{what} hung for {HANG:?}"));
            Step::Failed
        }
        Ok(Ok(v)) => {
            out.ok += 1;
            out.successes.push(Instant::now());
            Step::Ok(v)
        }
        Ok(Err(e)) => {
            out.slowest_failure = out.slowest_failure.max(elapsed);
            if !e.is_transient() {
                out.violations.push(format!(
                    "{what}: a non-transient error: {}",
                    error_chain(&e)
                ));
            } else if elapsed > OP_TIMEOUT + MARGIN {
                out.violations.push(format!(
                    "{what}: failed after {elapsed:?}, beyond the {OP_TIMEOUT:?} timeout + {MARGIN:?}"
                ));
            } else {
                out.transient += 1;
            }
            Step::Failed
        }
    }
}

async fn run_task(
    i: usize,
    store: &dyn SessionStore,
    stop: &AtomicBool,
    epoch: &AtomicU64,
) -> TaskOutcome {
    let key = SessionKey::generate();
    let mut ledger = Ledger::default();
    let mut out = TaskOutcome::default();
    let mut version = 0u64;
    let mut round = 0u64;
    while !stop.load(Ordering::SeqCst) {
        round += 1;
        version += 1;
        let epoch_before = epoch.load(Ordering::SeqCst);
        match step(
            &mut out,
            "set",
            store.set(&key, &payload(&key, version), LONG, true),
        )
        .await
        {
            Step::Ok(()) => {
                ledger.committed = Some(version);
                ledger.committed_epoch = epoch_before;
            }
            Step::Failed => {
                ledger.unknown.insert(Some(version));
            }
        }
        let rolling = (round + i as u64) % 2 == 0;
        check_read(&mut out, &ledger, &key, store, rolling, epoch).await;
        if round % 3 == 0 {
            touch_then_read(&mut out, &ledger, &key, store, epoch).await;
        }
        if round % 4 == 0 {
            match step(&mut out, "destroy", store.destroy(&key)).await {
                Step::Ok(()) => {
                    ledger.committed = None;
                    ledger.committed_epoch = epoch.load(Ordering::SeqCst);
                }
                Step::Failed => {
                    ledger.unknown.insert(None);
                }
            }
            check_read(&mut out, &ledger, &key, store, true, epoch).await;
            // A touch after a destroy never brings the record back.
            touch_then_read(&mut out, &ledger, &key, store, epoch).await;
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    // Leave nothing behind (best effort: the server may be down).
    let _ = tokio::time::timeout(HANG, store.destroy(&key)).await;
    out
}

/// A touch given [`TOUCH_VERSION`] as data, which it must never write, then a read.
async fn touch_then_read(
    out: &mut TaskOutcome,
    ledger: &Ledger,
    key: &SessionKey,
    store: &dyn SessionStore,
    epoch: &AtomicU64,
) {
    let given = payload(key, TOUCH_VERSION);
    let _ = step(out, "touch", store.set(key, &given, LONG, false)).await;
    check_read(out, ledger, key, store, false, epoch).await;
}

async fn check_read(
    out: &mut TaskOutcome,
    ledger: &Ledger,
    key: &SessionKey,
    store: &dyn SessionStore,
    rolling: bool,
    epoch: &AtomicU64,
) {
    let what = if rolling { "rolling get" } else { "get" };
    let Step::Ok(read) = step(out, what, store.get(key, LONG, rolling)).await else {
        return;
    };
    let read = match read.as_ref().map(|d| version_of(key, d)).transpose() {
        Ok(v) => v,
        Err(broken) => {
            out.violations.push(broken);
            return;
        }
    };
    if read == Some(TOUCH_VERSION) {
        out.violations.push("a touch wrote its data".to_owned());
    } else if !ledger.allows(read, epoch.load(Ordering::SeqCst)) {
        out.violations.push(format!(
            "{what} returned version {read:?}; the last successful write or destroy left {:?} \
             and only {:?} had unknown outcomes",
            ledger.committed,
            ledger.unknown.len()
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Probing one fault.

/// What one fault did, for the report printed by each test.
#[derive(Debug)]
struct Observed {
    fault: String,
    slowest_error: StdDuration,
    recovered_after: StdDuration,
}

/// Asserts that `op` fails with a transient error within [`OP_TIMEOUT`] + [`MARGIN`], without
/// hanging; returns how long it took.
async fn fails_in_time<T: std::fmt::Debug>(
    what: &str,
    op: impl std::future::Future<Output = Result<T>>,
) -> StdDuration {
    let started = Instant::now();
    let result = tokio::time::timeout(HANG, op)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung for {HANG:?}"));
    let elapsed = started.elapsed();
    match result {
        Err(e) => {
            assert!(
                e.is_transient(),
                "{what}: not transient: {}",
                error_chain(&e)
            );
            assert!(
                elapsed <= OP_TIMEOUT + MARGIN,
                "{what}: failed only after {elapsed:?} (timeout {OP_TIMEOUT:?})"
            );
        }
        Ok(v) => panic!("{what}: succeeded ({v:?}) during an outage"),
    }
    elapsed
}

/// Every kind of operation fails transiently and in time; returns the slowest.
async fn all_ops_fail_in_time(store: &dyn SessionStore, fault: &str) -> StdDuration {
    let key = SessionKey::generate();
    let d = payload(&key, 1);
    [
        fails_in_time(&format!("{fault}: get"), store.get(&key, LONG, false)).await,
        fails_in_time(
            &format!("{fault}: rolling get"),
            store.get(&key, LONG, true),
        )
        .await,
        fails_in_time(&format!("{fault}: set"), store.set(&key, &d, LONG, true)).await,
        fails_in_time(&format!("{fault}: touch"), store.set(&key, &d, LONG, false)).await,
        fails_in_time(&format!("{fault}: destroy"), store.destroy(&key)).await,
    ]
    .into_iter()
    .max()
    .unwrap_or_default()
}

/// Retries a write and a read of a fresh key until both succeed; fails the test when that takes
/// longer than [`RECOVERY`]. Returns the time it took.
async fn recovers(store: &dyn SessionStore, fault: &str) -> StdDuration {
    let healed = Instant::now();
    let key = SessionKey::generate();
    let d = payload(&key, 7);
    let mut last = String::new();
    while healed.elapsed() < RECOVERY {
        let attempt = async {
            store.set(&key, &d, LONG, true).await?;
            store.get(&key, LONG, false).await
        };
        match tokio::time::timeout(HANG, attempt).await {
            Ok(Ok(Some(read))) => {
                assert_eq!(read, d, "{fault}: the first read after healing is wrong");
                let _ = store.destroy(&key).await;
                return healed.elapsed();
            }
            Ok(Ok(None)) => panic!("{fault}: a write that succeeded is missing"),
            Ok(Err(e)) => last = error_chain(&e),
            Err(_) => panic!("{fault}: an operation hung after healing"),
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("{fault}: the store did not recover within {RECOVERY:?} of healing; last error: {last}")
}

/// The whole fault schedule through `proxies` (all switched together) with the load running:
/// latency below the timeout (operations succeed), then stall, reset, refuse and latency above
/// the timeout (operations fail in time), each followed by healing.
async fn fault_schedule(
    backend: &str,
    store: Arc<dyn SessionStore>,
    proxies: &[&FaultProxy],
) -> Vec<Observed> {
    let set_all = |mode: Mode| async move {
        for p in proxies {
            p.set_mode(mode).await.unwrap();
        }
    };
    let load = Load::start(Arc::clone(&store), TASKS);
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    // Latency below the timeout: slower, never failing.
    set_all(Mode::Latency(StdDuration::from_millis(20))).await;
    let key = SessionKey::generate();
    let d = payload(&key, 3);
    let started = Instant::now();
    let slow = async {
        store.set(&key, &d, LONG, true).await?;
        store.get(&key, LONG, true).await
    };
    let read = tokio::time::timeout(HANG, slow)
        .await
        .unwrap_or_else(|_| panic!("{backend}: hung under 20 ms latency"))
        .unwrap();
    assert_eq!(read, Some(d));
    let latency_took = started.elapsed();
    set_all(Mode::Pass).await;

    let mut observed = vec![Observed {
        fault: "latency 20 ms (< timeout)".to_owned(),
        slowest_error: StdDuration::ZERO,
        recovered_after: latency_took,
    }];
    let faults = [
        ("stall", Mode::Stall),
        ("reset", Mode::Reset),
        ("refuse", Mode::Refuse),
        (
            "latency 800 ms (> timeout)",
            Mode::Latency(StdDuration::from_millis(800)),
        ),
    ];
    for (name, mode) in faults {
        set_all(mode).await;
        let fault = format!("{backend} {name}");
        let slowest_error = all_ops_fail_in_time(&*store, &fault).await;
        tokio::time::sleep(FAULT_LENGTH.saturating_sub(slowest_error)).await;
        set_all(Mode::Pass).await;
        let recovered_after = recovers(&*store, &fault).await;
        observed.push(Observed {
            fault: name.to_owned(),
            slowest_error,
            recovered_after,
        });
        // Let the load run healthy for a moment, so every task meets the healed server.
        tokio::time::sleep(StdDuration::from_millis(300)).await;
    }
    let outcome = load.finish().await;
    judge(backend, &observed, &outcome);
    assert!(outcome.ok > 0, "{backend}: the load never succeeded");
    observed
}

/// Prints what each fault did and what the load saw, then fails the test on any broken
/// guarantee, or when the load never met a fault.
fn judge(backend: &str, observed: &[Observed], outcome: &Outcome) {
    eprintln!("---- {backend}: fault → slowest error, time to recover");
    for o in observed {
        eprintln!(
            "  {:<28} error within {:>5} ms, recovered in {:>5} ms",
            o.fault,
            o.slowest_error.as_millis(),
            o.recovered_after.as_millis()
        );
    }
    eprintln!(
        "  load: {} ok, {} transient errors (slowest {} ms), {} violations",
        outcome.ok,
        outcome.transient,
        outcome.slowest_failure.as_millis(),
        outcome.violations.len()
    );
    assert!(
        outcome.violations.is_empty(),
        "{backend}: {} broken guarantees, first ones: {:#?}",
        outcome.violations.len(),
        &outcome.violations[..outcome.violations.len().min(10)]
    );
    assert!(
        outcome.transient > 0,
        "{backend}: the load never met a fault"
    );
}

// ---------------------------------------------------------------------------------------------
// Backends behind the proxy.

fn host_port(url: &str, default: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match &rest[..end] {
        "" => default.to_owned(),
        host if !host.contains(':') => {
            let port = default.rsplit_once(':').map_or("", |(_, p)| p);
            format!("{host}:{port}")
        }
        host => host.to_owned(),
    }
}

/// Replaces the host and port of `url` with the proxy's.
fn through(url: &str, proxy: &FaultProxy) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (format!("{u}@"), r),
        None => (String::new(), rest),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    format!("{scheme}://{userinfo}{}{}", proxy.addr(), &rest[end..])
}

async fn proxy_to(upstream: &str) -> FaultProxy {
    FaultProxy::start(upstream).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_fails_in_time_and_recovers_through_every_fault() {
    let url = redis_url();
    let proxy = proxy_to(&host_port(&url, "127.0.0.1:6379")).await;
    let built = RedisStore::connect(&through(&url, &proxy)).await;
    let Some(store) = reachable("redis", "redis through faults", built) else {
        return;
    };
    let store = store
        .with_prefix(format!("{}:", unique_name("faults")))
        .with_timeout(OP_TIMEOUT);
    fault_schedule("redis", Arc::new(store), &[&proxy]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_store_fails_in_time_and_recovers_through_every_fault() {
    let url = mysql_url();
    let proxy = proxy_to(&host_port(&url, "127.0.0.1:3306")).await;
    let built = MySqlStore::connect(&through(&url, &proxy)).await;
    let Some(store) = reachable("mysql", "mysql through faults", built) else {
        return;
    };
    let table = unique_name("faults");
    let store = store
        .with_table_name(&table)
        .unwrap()
        .with_timeout(OP_TIMEOUT);
    store.migrate().await.unwrap();
    fault_schedule("mysql", Arc::new(store.clone()), &[&proxy]).await;
    let drop_table = format!("DROP TABLE IF EXISTS `{table}`");
    let _ = sqlx::query(sqlx::AssertSqlSafe(drop_table))
        .execute(store.pool())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_fails_in_time_and_recovers_through_every_fault() {
    let url = postgres_url();
    let proxy = proxy_to(&host_port(&url, "127.0.0.1:5432")).await;
    let built = PgStore::connect(&through(&url, &proxy)).await;
    let Some(store) = reachable("postgres", "postgres through faults", built) else {
        return;
    };
    // PostgreSQL names hold 55 characters here; `unique_name` makes up to 64.
    let table = session_testkit::fit_name(&unique_name("faults"), 55);
    let store = store
        .with_table_name(&table)
        .unwrap()
        .with_timeout(OP_TIMEOUT);
    store.migrate().await.unwrap();
    fault_schedule("postgres", Arc::new(store.clone()), &[&proxy]).await;
    let drop_table = format!("DROP TABLE IF EXISTS \"{table}\"");
    let _ = session_postgres::sqlx::query(session_postgres::sqlx::AssertSqlSafe(drop_table))
        .execute(store.pool())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_store_fails_in_time_and_recovers_through_every_fault() {
    let url = mongodb_url();
    let proxy = proxy_to(&host_port(&url, "127.0.0.1:27017")).await;
    let mut proxied = through(&url, &proxy);
    // One server behind one address: no topology discovery past the proxy.
    proxied.push_str(if proxied.contains('?') { "&" } else { "/?" });
    proxied.push_str("directConnection=true");
    // Named for the sweep in tests/mongo.rs, which removes any this test leaves behind.
    let collection = mongo_collection(&unique_name("faults"));
    let built = MongoStore::connect(&proxied, "session_tests", &collection).await;
    let Some(store) = reachable("mongo", "mongo through faults", built) else {
        return;
    };
    let store = store.with_timeout(OP_TIMEOUT);
    fault_schedule("mongo", Arc::new(store), &[&proxy]).await;
    if let Ok(client) = mongodb::Client::with_uri_str(&url).await {
        let _ = client
            .database("session_tests")
            .collection::<mongodb::bson::Document>(&collection)
            .drop()
            .await;
    }
}

/// `store` with [`OP_TIMEOUT`], shared with the load's tasks.
fn with_op_timeout(store: RedisStore) -> Arc<dyn SessionStore> {
    Arc::new(store.with_timeout(OP_TIMEOUT))
}

/// A single-node store connected to a test-owned server, which is killed with SIGKILL and
/// restarted on the same port while many tasks read and write: operations in between fail
/// transiently and in time, the same store serves again within [`RECOVERY`] of the restart, and
/// the load never sees another key's data or a stale record (a write from before the crash may be
/// lost: the server has no persistence).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_recovers_when_its_server_is_killed_and_restarted_under_load() {
    let mut server = match RedisServer::start(free_port(), &[]).await {
        Ok(server) => server,
        Err(e) => return unreachable("redis", "own redis-server", &e),
    };
    let store = with_op_timeout(RedisStore::connect(&server.url()).await.unwrap());
    let load = Load::start(Arc::clone(&store), 32);
    tokio::time::sleep(StdDuration::from_millis(500)).await;

    server.kill();
    load.data_lost();
    let slowest_error = all_ops_fail_in_time(&*store, "killed redis").await;
    tokio::time::sleep(StdDuration::from_millis(700)).await;
    server.restart().await;
    let restarted = Instant::now();
    let recovered_after = recovers(&*store, "restarted redis").await;
    tokio::time::sleep(RECOVERY + StdDuration::from_millis(200)).await;
    let outcome = load.finish().await;
    judge(
        "redis kill -9 + restart",
        &[Observed {
            fault: "SIGKILL, restart after 0.7 s".to_owned(),
            slowest_error,
            recovered_after,
        }],
        &outcome,
    );
    // Every task served again within RECOVERY of the restart.
    for (i, successes) in outcome.successes.iter().enumerate() {
        let first = successes.iter().find(|t| **t >= restarted);
        match first {
            Some(t) => assert!(
                t.duration_since(restarted) <= RECOVERY,
                "task {i} recovered only after {:?}",
                t.duration_since(restarted)
            ),
            None => panic!("task {i} never succeeded after the restart"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A Redis Cluster of three test-owned nodes, each behind a proxy it announces as its address.

/// Three masters on free ports, each announcing its proxy's port (`cluster-announce-port`), so
/// that the cluster client reaches every node, after the slot map too, only through a proxy.
struct OwnCluster {
    nodes: Vec<RedisServer>,
    proxies: Vec<FaultProxy>,
    dir: PathBuf,
}

impl OwnCluster {
    /// Starts the nodes and forms the cluster; `Err` when `redis-server` is not installed.
    async fn start() -> std::result::Result<OwnCluster, String> {
        let dir = std::env::temp_dir().join(unique_name("faults_cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        let mut proxies = Vec::new();
        for _ in 0..3 {
            let port = free_cluster_port();
            let proxy = proxy_to(&format!("127.0.0.1:{port}")).await;
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).unwrap();
            let node = RedisServer::start(
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &node_dir.join("nodes.conf").to_string_lossy(),
                    "--dir",
                    &node_dir.to_string_lossy(),
                    "--cluster-node-timeout",
                    "5000",
                    "--cluster-announce-ip",
                    "127.0.0.1",
                    "--cluster-announce-port",
                    &proxy.port().to_string(),
                    "--cluster-announce-bus-port",
                    &(port + 10000).to_string(),
                ],
            )
            .await?;
            nodes.push(node);
            proxies.push(proxy);
        }
        let cluster = OwnCluster {
            nodes,
            proxies,
            dir,
        };
        cluster.form().await;
        Ok(cluster)
    }

    async fn direct(&self, i: usize) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.nodes[i].url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    /// Meets the nodes, splits the slots in three, waits for `cluster_state:ok` everywhere.
    async fn form(&self) {
        let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
        let mut first = self.direct(0).await;
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                let () = redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(node.port())
                    .arg(node.port() + 10000)
                    .query_async(&mut first)
                    .await
                    .expect("CLUSTER MEET");
            }
            let mut conn = self.direct(i).await;
            let () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(ranges[i].0)
                .arg(ranges[i].1)
                .query_async(&mut conn)
                .await
                .expect("CLUSTER ADDSLOTSRANGE");
        }
        for i in 0..self.nodes.len() {
            self.wait_serving(i, StdDuration::from_secs(20)).await;
        }
    }

    /// Waits until node `i` reports `cluster_state:ok` with all three nodes known, and returns
    /// how long that took.
    async fn wait_serving(&self, i: usize, within: StdDuration) -> StdDuration {
        let started = Instant::now();
        let mut conn = self.direct(i).await;
        loop {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut conn)
                .await
                .expect("CLUSTER INFO");
            if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3") {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "cluster node {i} did not serve: {info}"
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    fn urls(&self) -> Vec<String> {
        self.proxies
            .iter()
            .map(|p| format!("redis://{}", p.addr()))
            .collect()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster client through the fault schedule (all three proxies switched together), then
/// one node stalled by SIGSTOP and one killed with SIGKILL and restarted under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_fails_in_time_and_recovers_through_faults_and_node_crashes() {
    let mut cluster = match OwnCluster::start().await {
        Ok(cluster) => cluster,
        Err(e) => return unreachable("redis_cluster", "own redis-server cluster", &e),
    };
    let store = with_op_timeout(RedisStore::connect_cluster(&cluster.urls()).await.unwrap());
    let proxies: Vec<&FaultProxy> = cluster.proxies.iter().collect();
    fault_schedule("redis_cluster", Arc::clone(&store), &proxies).await;

    // One node paused (its slots time out) and one killed and restarted, under load.
    let load = Load::start(Arc::clone(&store), TASKS);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    cluster.nodes[1].signal("-STOP");
    tokio::time::sleep(FAULT_LENGTH).await;
    cluster.nodes[1].signal("-CONT");
    let stall_recovery = recovers(&*store, "redis_cluster node SIGSTOP").await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;

    cluster.nodes[2].kill();
    load.data_lost();
    // Within the node timeout (5 s) the cluster never declares the node failed, so the restarted
    // node takes its slots back at once.
    tokio::time::sleep(StdDuration::from_millis(700)).await;
    cluster.nodes[2].restart().await;
    // A restarted master refuses commands (CLUSTERDOWN) for about 2 s on purpose (Redis'
    // CLUSTER_WRITABLE_DELAY, which gives the cluster a chance to reconfigure it), so the node
    // itself, not the store, decides when serving resumes; recovery counts from there.
    cluster.wait_serving(2, StdDuration::from_secs(10)).await;
    let kill_recovery = recovers(&*store, "redis_cluster node SIGKILL + restart").await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let outcome = load.finish().await;
    judge(
        "redis_cluster nodes",
        &[
            Observed {
                fault: "one node SIGSTOP 0.8 s".to_owned(),
                slowest_error: outcome.slowest_failure,
                recovered_after: stall_recovery,
            },
            Observed {
                fault: "one node SIGKILL + restart".to_owned(),
                slowest_error: outcome.slowest_failure,
                recovered_after: kill_recovery,
            },
        ],
        &outcome,
    );
}

#[test]
fn urls_are_rewritten_to_go_through_the_proxy() {
    assert_eq!(
        host_port("mysql://root:pw@db.example:3307/test", "x"),
        "db.example:3307"
    );
    assert_eq!(
        host_port("mongodb://127.0.0.1:27017", "x"),
        "127.0.0.1:27017"
    );
    assert_eq!(host_port("redis://127.0.0.1:6379/2", "x"), "127.0.0.1:6379");
    assert_eq!(
        host_port("redis://localhost", "127.0.0.1:6379"),
        "localhost:6379"
    );
}
