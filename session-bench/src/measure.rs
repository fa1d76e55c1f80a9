//! The load loop: `concurrency` tasks issuing operations until a deadline (or an operation
//! budget), each latency recorded in an HDR histogram.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Any error a benchmarked operation returns.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One operation: given its sequence number, returns the future that performs it.
pub(crate) type Op =
    Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// What one measured run gave.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stats {
    /// Completed operations per second of wall time.
    pub(crate) ops_per_sec: f64,
    /// Median latency, microseconds.
    pub(crate) p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub(crate) p99_us: f64,
    /// Operations that failed (they are not in the latencies).
    pub(crate) errors: u64,
}

fn histogram() -> Histogram<u64> {
    // Nanoseconds, 1 ns to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap_or_else(|e| panic!("histogram: {e}"))
}

/// Runs `op` from `concurrency` tasks until `duration` has passed or `limit` operations were
/// started. Sequence numbers are handed out from one counter, so concurrent tasks work on
/// different sessions.
pub(crate) async fn run(
    op: Op,
    concurrency: usize,
    duration: Duration,
    limit: Option<u64>,
) -> Stats {
    run_until(op, concurrency, duration, limit, None).await
}

/// As [`run`], also stopping as soon as `stop` is set.
pub(crate) async fn run_until(
    op: Op,
    concurrency: usize,
    duration: Duration,
    limit: Option<u64>,
    stop: Option<Arc<AtomicBool>>,
) -> Stats {
    let seq = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let op = Arc::clone(&op);
        let seq = Arc::clone(&seq);
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let t = Instant::now();
                if t >= deadline || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                    break;
                }
                match op(n).await {
                    Ok(()) => {
                        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        hist.saturating_record(ns.max(1));
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (hist, errors, first_error)
        }));
    }
    let mut all = histogram();
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((hist, e, first)) => {
                let _ = all.add(&hist);
                errors += e;
                if let Some(first) = first {
                    eprintln!("    (errors: first was: {first})");
                }
            }
            Err(e) => eprintln!("    (a load task panicked: {e})"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Stats {
        ops_per_sec: all.len() as f64 / elapsed.max(1e-9),
        p50_us: all.value_at_quantile(0.50) as f64 / 1000.0,
        p99_us: all.value_at_quantile(0.99) as f64 / 1000.0,
        errors,
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Load average (1, 5, 15 minutes) from `/proc/loadavg`, as text.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
