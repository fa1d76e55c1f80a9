//! What the per-operation instrumentation costs: loads from an in-memory store straight, through
//! [`Instrumented`] with no `metrics` recorder and no `tracing` subscriber (what an application
//! that installs neither pays), and through it with a recorder installed.
//!
//! `cargo run --release -p session-tower --example instrument_cost`
//!
//! The memory store is the fastest store there is (no I/O), so this shows the overhead at its
//! largest relative size; against a network store it disappears in the round trip.

#![allow(clippy::unwrap_used, reason = "an example fails by panicking")]

use std::sync::Arc;
use std::time::Instant;

use metrics_util::debugging::DebuggingRecorder;
use session_core::{Duration, SessionData, SessionKey, SessionStore};
use session_tower::Instrumented;

const LOADS: u32 = 500_000;
const ROUNDS: usize = 5;

/// The fastest of `ROUNDS` runs of `LOADS` loads, in ns per load.
async fn ns_per_load(store: &dyn SessionStore, key: &SessionKey) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..LOADS {
            let loaded = store.load(key, Duration::hours(1), false).await.unwrap();
            std::hint::black_box(loaded);
        }
        best = best.min(started.elapsed().as_nanos() as f64 / f64::from(LOADS));
    }
    best
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let store: Arc<dyn SessionStore> = Arc::new(session_memory::MemoryStore::new());
    let key = SessionKey::generate();
    let mut data = SessionData::new();
    data.insert("user", "alice").unwrap();
    store.write(&key, &data, Duration::hours(1)).await.unwrap();
    let instrumented = Instrumented::new(Arc::clone(&store));

    let raw = ns_per_load(&*store, &key).await;
    let bare = ns_per_load(&instrumented, &key).await;
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    let with_recorder = ns_per_load(&instrumented, &key).await;

    println!("memory store, {LOADS} loads, best of {ROUNDS}");
    println!("  store alone                         {raw:8.1} ns/load");
    println!(
        "  instrumented, no recorder/subscriber {bare:8.1} ns/load ({:+.1} ns)",
        bare - raw
    );
    println!(
        "  instrumented, recorder installed    {with_recorder:8.1} ns/load ({:+.1} ns)",
        with_recorder - raw
    );
}
