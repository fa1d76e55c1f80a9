//! The conformance suite and SQLite-specific tests, each on a database file of its own under
//! `<temp dir>/session-tests-sqlite/` (files older than 30 minutes are removed once per run).
//! Needs no server: `cargo test -p integration-tests --test sqlite`.
//!
//! Besides the suite: many writers on one file (two pools, thousands of rounds of conditional
//! writes, exactly one winner each), a database kept locked past the busy timeout, and sessions
//! surviving the process that wrote them being killed with SIGKILL.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod sql_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use serde_json::json;
use session_core::{
    Duration, Error, ExpiryResolution, Result, SessionKey, SessionStore, Version, WriteOutcome,
};
use session_sqlite::SqliteStore;
use session_sqlite::sqlx;
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::{data, sqlite_dir, sqlite_file, unique_name};
use sql_common::Table;

/// Opens (creating) the file for `namespace`, after removing stale test files once per run.
async fn open(namespace: &str) -> Result<SqliteStore> {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(remove_stale_files);
    let store = SqliteStore::open(sqlite_file(namespace)).await?;
    store.migrate().await?;
    Ok(store)
}

/// Removes test databases (and their `-wal`/`-shm` files) older than 30 minutes. Best effort.
fn remove_stale_files() {
    let Ok(entries) = std::fs::read_dir(sqlite_dir()) else {
        return;
    };
    let cutoff = std::time::SystemTime::now() - StdDuration::from_secs(1800);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        if old && entry.file_name().to_string_lossy().starts_with("t_") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The conformance factory, in the exact mode (every rolling read rewrites the expiry): a
/// migrated store in a file of its own.
async fn make(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let store = open(&namespace)
        .await?
        .with_max_record_bytes(MAX_RECORD_BYTES)
        .with_expiry_resolution(ExpiryResolution::Exact);
    Ok(Arc::new(store))
}

session_testkit::conformance_suite!(sqlite, make);

/// A migrated store in a fresh file for test `name`: always there, SQLite has no server to be
/// unreachable.
async fn store_for(name: &str) -> Option<SqliteStore> {
    Some(open(&unique_name(name)).await.unwrap())
}

sql_common::impl_table!(SqliteStore, "sqlite", "?1");
sql_common::sql_tests!(store_for);

/// The file is in WAL mode, and the table and index are the documented ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_in_wal_mode_with_the_documented_table() {
    let store = store_for("wal").await.unwrap();
    store.migrate().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let columns: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM pragma_table_info('sessions') ORDER BY cid")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let columns: Vec<(&str, &str)> = columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "TEXT"),
            ("data", "BLOB"),
            ("expires_at", "INTEGER"),
            ("version", "INTEGER"),
            ("owner", "TEXT")
        ]
    );
    let index: String = sqlx::query_scalar(
        "SELECT name FROM pragma_index_list('sessions') WHERE name = 'sessions_exp_idx'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(index, "sessions_exp_idx");
}

/// Two stores (two pools) on one file, two tasks each: in every one of 2 000 rounds, four
/// conditional writes at the version all of them loaded race, and exactly one wins; the record
/// then holds the winner's data at the winner's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_one_file_let_exactly_one_conditional_write_win() {
    const ROUNDS: usize = 2_000;
    let name = unique_name("writers");
    let stores = [open(&name).await.unwrap(), open(&name).await.unwrap()];
    let key = SessionKey::generate();
    stores[0]
        .set(&key, &data(json!({"w": -1})), Duration::hours(1), true)
        .await
        .unwrap();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let loaded = stores[1]
            .load(&key, Duration::hours(1), false)
            .await
            .unwrap()
            .unwrap();
        let racers: Vec<_> = (0..4)
            .map(|w| {
                let (store, key) = (stores[w % 2].clone(), key.clone());
                tokio::spawn(async move {
                    let d = data(json!({"w": w, "round": round}));
                    let outcome = store
                        .write_if(&key, &d, Duration::hours(1), loaded.version)
                        .await;
                    (w, outcome)
                })
            })
            .collect();
        let mut winners: Vec<(usize, Version)> = Vec::new();
        for r in futures::future::join_all(racers).await {
            match r.unwrap() {
                (w, Ok(WriteOutcome::Written(v))) => winners.push((w, v)),
                (_, Ok(WriteOutcome::Conflict)) => {}
                (w, other) => panic!("round {round}, writer {w}: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let (w, v) = winners[0];
        let now = stores[round % 2]
            .load(&key, Duration::hours(1), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.version, v, "round {round}");
        assert_eq!(
            now.data,
            data(json!({"w": w, "round": round})),
            "round {round}"
        );
    }
    eprintln!(
        "sqlite: {ROUNDS} rounds of 4 racing conditional writes on one file in {:?}",
        started.elapsed()
    );
}

/// Another connection holding the write lock past the busy timeout makes writes fail with a
/// transient error after their retries, and nothing is written; once it lets go, writes succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_past_the_busy_timeout_is_a_transient_error() {
    let file = sqlite_file(&unique_name("busy"));
    let options = SqliteStore::options(&format!("sqlite://{}", file.display()))
        .unwrap()
        .busy_timeout(StdDuration::from_millis(50));
    let store = SqliteStore::connect_with(options).await.unwrap();
    store.migrate().await.unwrap();
    let key = SessionKey::generate();
    store
        .set(&key, &data(json!({"n": 1})), Duration::hours(1), true)
        .await
        .unwrap();

    let holder = SqliteStore::open(&file).await.unwrap();
    let mut conn = holder.pool().acquire().await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .unwrap();
    let started = Instant::now();
    let got = store
        .set(&key, &data(json!({"n": 2})), Duration::hours(1), true)
        .await;
    match got {
        Err(e @ Error::Unavailable { .. }) => assert!(e.is_transient()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() >= StdDuration::from_millis(200),
        "gave up after {:?}, without its retries",
        started.elapsed()
    );
    // Readers are not blocked by the writer (WAL).
    assert_eq!(
        store.get(&key, Duration::hours(1), false).await.unwrap(),
        Some(data(json!({"n": 1})))
    );
    sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
    drop(conn);
    store
        .set(&key, &data(json!({"n": 3})), Duration::hours(1), true)
        .await
        .unwrap();
    assert_eq!(
        store.get(&key, Duration::hours(1), false).await.unwrap(),
        Some(data(json!({"n": 3})))
    );
}

/// The environment variable naming the file [`restart_child_writes_sessions`] writes to.
const CHILD_FILE: &str = "SESSION_SQLITE_CHILD_FILE";
const CHILD_SESSIONS: usize = 200;

/// Run by [`sessions_survive_the_writing_process_being_killed`] in a child process (it is
/// ignored in normal runs): writes sessions, prints each key with its version, then `READY`,
/// and waits to be killed.
#[tokio::test]
#[ignore = "a child process of sessions_survive_the_writing_process_being_killed"]
async fn restart_child_writes_sessions() {
    let file = std::env::var(CHILD_FILE).expect("run by the restart test only");
    let store = SqliteStore::open(&file).await.unwrap();
    store.migrate().await.unwrap();
    for i in 0..CHILD_SESSIONS {
        let key = SessionKey::generate();
        store
            .set(
                &key,
                &data(json!({"i": i, "first": true})),
                Duration::hours(1),
                true,
            )
            .await
            .unwrap();
        let loaded = store
            .load(&key, Duration::hours(1), true)
            .await
            .unwrap()
            .unwrap();
        let outcome = store
            .write_if(
                &key,
                &data(json!({"i": i})),
                Duration::hours(1),
                loaded.version,
            )
            .await
            .unwrap();
        let version = outcome.written().unwrap();
        println!("SESSION {} {i} {}", key.as_str(), version.as_u64());
    }
    println!("READY");
    // The pool stays open: the parent kills this process, no clean shutdown happens.
    tokio::time::sleep(StdDuration::from_secs(120)).await;
    panic!("not killed");
}

/// Sessions written by one process (killed with SIGKILL, so nothing is closed or checkpointed)
/// are all there, with their data and versions, for a fresh process opening the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_the_writing_process_being_killed() {
    let file = sqlite_file(&unique_name("restart"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "restart_child_writes_sessions",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FILE, &file)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = tokio::task::spawn_blocking(move || {
        let mut sessions = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // The test harness prints `test … ... ` before the child's first line, without a
            // newline: look for the markers anywhere in a line.
            if line.ends_with("READY") {
                return sessions;
            }
            let Some(start) = line.find("SESSION ") else {
                continue;
            };
            let parts: Vec<&str> = line[start..].split(' ').collect();
            if let ["SESSION", key, i, version] = parts[..] {
                sessions.push((
                    SessionKey::parse(key).unwrap(),
                    i.parse::<usize>().unwrap(),
                    Version::from_u64(version.parse().unwrap()),
                ));
            }
        }
        panic!("the child ended without READY");
    });
    let sessions = tokio::time::timeout(StdDuration::from_secs(60), reader)
        .await
        .expect("the child did not finish writing")
        .unwrap();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was not killed: {status}");
    assert_eq!(sessions.len(), CHILD_SESSIONS);

    let store = SqliteStore::open(&file).await.unwrap();
    for (key, i, version) in &sessions {
        let loaded = store
            .load(key, Duration::hours(1), false)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("session {i} lost"));
        assert_eq!(loaded.data, data(json!({"i": i})), "session {i}");
        assert_eq!(loaded.version, *version, "session {i}");
    }
    assert_eq!(store.count_rows().await, CHILD_SESSIONS as i64);
}
