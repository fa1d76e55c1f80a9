//! Scale: how cost grows with the number of live sessions. Memory store bytes per session (RSS
//! delta in a fresh child process per measurement), MySQL `get` latency with 1 M rows, and the
//! batched cleanup of 1 M expired rows with `get` latency measured while it runs.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use session_core::{DEFAULT_MAX_RECORD_BYTES, SessionKey, SessionStore, encode, now_ms};
use session_memory::MemoryStore;
use session_mysql::MySqlStore;
use sqlx::AssertSqlSafe;
use tower_sessions::session_store::SessionStore as _;

use crate::Settings;
use crate::backends::Urls;
use crate::cli::MemKind;
use crate::measure::{self, BoxError, Stats, median};
use crate::store_bench::us;
use crate::subject::{MAX_AGE, Ours, Subject, Workload, op, payload, tower_payload};
use crate::targets::Target;

const SESSION_BYTES: usize = 256;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The child process: `mem-child <ours|tower> <sessions>`; prints `<rss before> <rss after>`.
pub(crate) fn mem_child(kind: MemKind, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let data = payload(SESSION_BYTES);
        let tdata = tower_payload(SESSION_BYTES);
        if kind == MemKind::Ours {
            let store = MemoryStore::builder().max_bytes(u64::MAX / 2).build();
            let before = rss_bytes();
            for i in 0..n {
                let key = SessionKey::parse(&format!("mem-{i:0>39}")).unwrap();
                store.set(&key, &data, MAX_AGE, true).await.unwrap();
            }
            store.run_pending_tasks().await;
            println!("{before} {}", rss_bytes());
        } else {
            let store = tower_sessions_moka_store::MokaStore::new(None);
            let before = rss_bytes();
            for i in 0..n {
                let record = tower_sessions::session::Record {
                    id: tower_sessions::session::Id(i as i128 + 1),
                    data: tdata.clone(),
                    expiry_date: time::OffsetDateTime::now_utc() + MAX_AGE,
                };
                store.save(&record).await.unwrap();
            }
            println!("{before} {}", rss_bytes());
        }
    });
}

async fn mem_once(kind: &str, n: usize) -> Result<f64, BoxError> {
    let exe = std::env::current_exe()?;
    let out = tokio::process::Command::new(exe)
        .args(["mem-child", kind, &n.to_string()])
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = text
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    let (before, after) = (f.next().unwrap_or(0.0), f.next().unwrap_or(0.0));
    if after <= 0.0 {
        return Err(format!("mem-child failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok((after - before) / n as f64)
}

/// Runs the scale benchmarks and returns their Markdown section.
pub(crate) async fn run(settings: &Settings, urls: &Urls) -> (String, Vec<Target>) {
    let mut out = String::from("## Scale\n\n");
    let mut targets = Vec::new();
    let sizes: &[usize] = if settings.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    eprintln!(
        "== scale: memory (load average {})",
        measure::load_average()
    );
    let _ = writeln!(
        out,
        "### Memory store: bytes per session of {SESSION_BYTES} B (RSS delta, fresh child process each, \
         median of {} run(s); load average {})\n",
        settings.reps,
        measure::load_average()
    );
    let _ = writeln!(
        out,
        "| sessions | session-memory | tower-sessions-moka-store | ours / theirs |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for &n in sizes {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..settings.reps {
            match mem_once("ours", n).await {
                Ok(v) => ours.push(v),
                Err(e) => eprintln!("!! {e}"),
            }
            match mem_once("tower", n).await {
                Ok(v) => theirs.push(v),
                Err(e) => eprintln!("!! {e}"),
            }
        }
        let (o, t) = (median(&mut ours), median(&mut theirs));
        eprintln!("  {n:>8} sessions: ours {o:.0} B/session, tower-sessions-moka-store {t:.0}");
        let _ = writeln!(out, "| {n} | {o:.0} B | {t:.0} B | {:.2} |", o / t.max(1.0));
        if Some(&n) == sizes.last() {
            targets.push(Target {
                what: "memory per session, ours / tower-sessions-moka-store".into(),
                place: format!("{n} sessions of {SESSION_BYTES} B"),
                value: o / t.max(1.0),
                goal: 1.0,
                at_most: true,
            });
        }
    }
    let _ = writeln!(out);
    match mysql(settings, urls).await {
        Ok(s) => out.push_str(&s),
        Err(e) => {
            eprintln!("!! MySQL scale failed: {e}");
            let _ = writeln!(out, "MySQL scale failed: {e}\n");
        }
    }
    (out, targets)
}

fn lat(s: Stats) -> String {
    format!(
        "{:.0} ops/s, p50 {} µs, p99 {} µs",
        s.ops_per_sec,
        us(s.p50_us),
        us(s.p99_us)
    )
}

async fn mysql(settings: &Settings, urls: &Urls) -> Result<String, BoxError> {
    let expired: usize = if settings.quick { 100_000 } else { 1_000_000 };
    let live: usize = 10_000;
    let batch_rows = 1000;
    let table = format!("bench_scale_{}", std::process::id());
    let store = MySqlStore::connect(&urls.mysql)
        .await?
        .with_table_name(&table)?;
    store.migrate().await?;
    let pool = store.pool().clone();
    let result = mysql_inner(settings, &store, &pool, &table, expired, live, batch_rows).await;
    let drop = format!("DROP TABLE IF EXISTS `{table}`");
    sqlx::query(AssertSqlSafe(drop)).execute(&pool).await?;
    result
}

async fn get_stats(
    subject: &Arc<dyn Subject>,
    live: usize,
    conc: usize,
    settings: &Settings,
) -> Stats {
    let mut runs = Vec::new();
    for _ in 0..settings.reps {
        runs.push(
            measure::run(
                op(Arc::clone(subject), Workload::Get, live),
                conc,
                settings.duration * 2,
                None,
            )
            .await,
        );
    }
    let m = |f: fn(&Stats) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
    Stats {
        ops_per_sec: m(|s| s.ops_per_sec),
        p50_us: m(|s| s.p50_us),
        p99_us: m(|s| s.p99_us),
        errors: runs.iter().map(|s| s.errors).sum(),
    }
}

async fn mysql_inner(
    settings: &Settings,
    store: &MySqlStore,
    pool: &sqlx::MySqlPool,
    table: &str,
    expired: usize,
    live: usize,
    batch_rows: usize,
) -> Result<String, BoxError> {
    eprintln!(
        "== scale: MariaDB, {expired} expired rows (load average {})",
        measure::load_average()
    );
    let subject: Arc<dyn Subject> = Arc::new(Ours {
        store: Arc::new(store.clone()),
        keys: Ours::keys("live", live),
        data: payload(SESSION_BYTES),
        cleanup: None,
        versioned: false,
    });
    let _ = measure::run(
        op(Arc::clone(&subject), Workload::Seed, usize::MAX),
        64,
        Duration::from_secs(600),
        Some(live as u64),
    )
    .await;
    let small_1 = get_stats(&subject, live, 1, settings).await;
    let small_64 = get_stats(&subject, live, 64, settings).await;

    // 1 M expired rows: multi-row INSERTs of `batch_rows` rows, four statements in flight.
    let record = Arc::new(encode(
        &payload(SESSION_BYTES),
        session_core::Version::generate(),
        now_ms(),
        DEFAULT_MAX_RECORD_BYTES,
    )?);
    let mut sql = format!("INSERT INTO `{table}` (id, data, expires_at) VALUES ");
    sql.push_str(&vec!["(?, ?, ?)"; batch_rows].join(", "));
    let sql: Arc<str> = sql.into();
    let started = Instant::now();
    let past = now_ms() - 3_600_000;
    let batches = expired.div_ceil(batch_rows);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (pool, sql, record, next) = (
            pool.clone(),
            Arc::clone(&sql),
            Arc::clone(&record),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return Ok::<(), sqlx::Error>(());
                }
                let mut q = sqlx::query(AssertSqlSafe(Arc::clone(&sql)));
                for r in 0..batch_rows {
                    let i = b * batch_rows + r;
                    q = q
                        .bind(format!("expired-{i:0>34}"))
                        .bind(record.as_slice())
                        .bind(past - i as i64);
                }
                q.execute(&pool).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let load_secs = started.elapsed().as_secs_f64();
    eprintln!("  loaded {expired} rows in {load_secs:.1} s");
    let big_1 = get_stats(&subject, live, 1, settings).await;
    let big_64 = get_stats(&subject, live, 64, settings).await;

    // Cleanup while a single client keeps reading live sessions.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (subject, stop) = (Arc::clone(&subject), Arc::clone(&stop));
        tokio::spawn(async move {
            measure::run_until(
                op(subject, Workload::Get, live),
                1,
                Duration::from_secs(3600),
                None,
                Some(stop),
            )
            .await
        })
    };
    let started = Instant::now();
    let removed = store.cleanup_expired(5000).await;
    let cleanup_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let during = reader.await?;
    let removed = removed?;
    eprintln!(
        "  cleanup removed {removed} rows in {cleanup_secs:.1} s; get p99 during {} µs",
        us(during.p99_us)
    );

    let mut out = String::new();
    let _ = writeln!(
        out,
        "### MariaDB: `get` with {expired} rows, and cleanup of {expired} expired rows\n"
    );
    let _ = writeln!(out, "| measurement | result |");
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(out, "| get, {live} live rows, c=1 | {} |", lat(small_1));
    let _ = writeln!(out, "| get, {live} live rows, c=64 | {} |", lat(small_64));
    let _ = writeln!(
        out,
        "| load {expired} expired rows ({batch_rows}-row INSERTs, 4 in flight) | {load_secs:.1} s |"
    );
    let _ = writeln!(
        out,
        "| get, {live} live + {expired} expired rows, c=1 | {} |",
        lat(big_1)
    );
    let _ = writeln!(
        out,
        "| get, {live} live + {expired} expired rows, c=64 | {} |",
        lat(big_64)
    );
    let _ = writeln!(
        out,
        "| `cleanup_expired(5000)`: {removed} rows removed | {cleanup_secs:.1} s ({:.0} rows/s) |",
        removed as f64 / cleanup_secs.max(1e-9)
    );
    let _ = writeln!(out, "| get during cleanup, c=1 | {} |", lat(during));
    let errors = small_1.errors + small_64.errors + big_1.errors + big_64.errors + during.errors;
    if errors > 0 {
        let _ = writeln!(out, "| errors | {errors} |");
    }
    let _ = writeln!(out);
    Ok(out)
}
