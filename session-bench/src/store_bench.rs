//! The store-level benchmark: every backend, workload, payload and concurrency, ours against
//! the raw driver, tower-sessions and (Redis) redis-benchmark, with ratios from the same run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::Settings;
use crate::backends::{
    self, BENCH_OWNER, Backend, OURS, OURS_INSTRUMENTED, OURS_OWNED, OURS_REPLICA_ACK,
    OURS_VERSIONED, RAW, REPLICA_ACK_TIMEOUT, TOWER, Urls,
};
use crate::measure::{self, Stats, median};
use crate::redis_benchmark;
use crate::subject::{Subject, Workload, op};
use crate::targets::Target;

/// Payload sizes, bytes of encoded record.
pub(crate) const PAYLOADS: [usize; 2] = [256, 4096];
/// Concurrency levels.
pub(crate) const CONCURRENCY: [usize; 2] = [1, 64];
/// Sessions the steady workloads cycle over.
const KEYSPACE: usize = 1000;
/// Label of the redis-benchmark peer.
pub(crate) const REDIS_BENCHMARK: &str = "redis-benchmark";

/// Identifies one cell: backend, payload, concurrency, workload.
pub(crate) type Cell = (&'static str, usize, usize, &'static str);

/// Every repetition's stats per subject, and per-repetition ratios ours / peer.
#[derive(Default)]
pub(crate) struct Results {
    pub(crate) stats: BTreeMap<(Cell, &'static str), Vec<Stats>>,
    pub(crate) ratios: BTreeMap<(Cell, &'static str), Vec<f64>>,
    pub(crate) loads: Vec<String>,
    pub(crate) skipped: Vec<String>,
    /// Ending all of one user's [`END_ALL_SESSIONS`] sessions: backend, payload, time, ended.
    pub(crate) end_all: Vec<(&'static str, usize, std::time::Duration, u64)>,
    /// Versioned / unconditional request mix per round of [`paired`] runs, per cell.
    pub(crate) versioning: BTreeMap<Cell, Vec<f64>>,
}

/// How many sessions of one user the end-all benchmark ends at once.
pub(crate) const END_ALL_SESSIONS: usize = 1000;

impl Results {
    fn add(&mut self, cell: Cell, who: &'static str, s: Stats) {
        self.stats.entry((cell, who)).or_default().push(s);
    }

    /// Median ops/s, p50, p99 and total errors of a subject in a cell.
    pub(crate) fn median(&self, cell: Cell, who: &str) -> Option<Stats> {
        let runs = self
            .stats
            .iter()
            .find(|((c, w), _)| *c == cell && *w == who)?
            .1;
        let mut ops: Vec<f64> = runs.iter().map(|s| s.ops_per_sec).collect();
        let mut p50: Vec<f64> = runs.iter().map(|s| s.p50_us).collect();
        let mut p99: Vec<f64> = runs.iter().map(|s| s.p99_us).collect();
        Some(Stats {
            ops_per_sec: median(&mut ops),
            p50_us: median(&mut p50),
            p99_us: median(&mut p99),
            errors: runs.iter().map(|s| s.errors).sum(),
        })
    }

    /// Median of the per-repetition ratios ours / `peer`.
    pub(crate) fn ratio(&self, cell: Cell, peer: &str) -> Option<f64> {
        let mut r = self
            .ratios
            .iter()
            .find(|((c, w), _)| *c == cell && *w == peer)?
            .1
            .clone();
        Some(median(&mut r))
    }
}

async fn seed(subject: &Arc<dyn Subject>, from_zero_count: usize) {
    let s = measure::run(
        op(Arc::clone(subject), Workload::Seed, usize::MAX),
        64,
        Duration::from_secs(600),
        Some(from_zero_count as u64),
    )
    .await;
    if s.errors > 0 {
        eprintln!("    seeding had {} errors", s.errors);
    }
}

/// Runs the store-level benchmark of the selected backends.
pub(crate) async fn run(settings: &Settings, urls: &Urls, results: &mut Results) {
    let dur = settings.duration;
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            let tag = format!(
                "{}{}p{bytes}",
                backend.name().replace('-', ""),
                std::process::id()
            );
            let budget = backend.destroy_budget(settings.quick);
            let n = budget.max(KEYSPACE);
            let subjects = match backends::build(backend, urls, &tag, n, bytes).await {
                Ok(s) => s,
                Err(e) => {
                    let msg = format!("{} ({bytes} B): setup failed, skipped: {e}", backend.name());
                    eprintln!("!! {msg}");
                    results.skipped.push(msg);
                    continue;
                }
            };
            let load = measure::load_average();
            eprintln!("== {} {bytes} B (load average {load})", backend.name());
            results
                .loads
                .push(format!("{} {bytes} B: {load}", backend.name()));
            for (_, s) in &subjects.list {
                seed(s, KEYSPACE).await;
                // Warm-up: connections, statement caches.
                let _ = measure::run(
                    op(Arc::clone(s), Workload::Get, KEYSPACE),
                    64,
                    dur / 4,
                    None,
                )
                .await;
            }
            for rep in 0..settings.reps {
                for &conc in &CONCURRENCY {
                    for w in Workload::REPORTED {
                        let cell: Cell = (backend.name(), bytes, conc, w.name());
                        let mut ours = None;
                        let mut peers = Vec::new();
                        for (label, s) in &subjects.list {
                            if matches!(*label, OURS_VERSIONED | OURS_OWNED) && w != Workload::Mix {
                                continue;
                            }
                            if *label == OURS_INSTRUMENTED
                                && !matches!(w, Workload::Get | Workload::Mix)
                            {
                                continue;
                            }
                            let (limit, keyspace) = if w == Workload::Destroy {
                                seed(s, budget).await;
                                (Some(budget as u64), usize::MAX)
                            } else {
                                (None, KEYSPACE)
                            };
                            let stats =
                                measure::run(op(Arc::clone(s), w, keyspace), conc, dur, limit)
                                    .await;
                            if w == Workload::Destroy {
                                seed(s, KEYSPACE).await;
                            }
                            results.add(cell, label, stats);
                            if *label == OURS {
                                ours = Some(stats);
                            } else {
                                peers.push((*label, stats));
                            }
                        }
                        if matches!(backend, Backend::Redis | Backend::RedisCluster)
                            && matches!(w, Workload::Get | Workload::SetChanged)
                        {
                            if let Some(rb) =
                                redis_bench(settings, urls, backend, conc, bytes).await
                            {
                                let s = if w == Workload::Get { rb.get } else { rb.set };
                                results.add(cell, REDIS_BENCHMARK, s);
                                peers.push((REDIS_BENCHMARK, s));
                            }
                        }
                        if let Some(o) = ours {
                            for (label, p) in peers {
                                if p.ops_per_sec > 0.0 {
                                    results
                                        .ratios
                                        .entry((cell, label))
                                        .or_default()
                                        .push(o.ops_per_sec / p.ops_per_sec);
                                }
                            }
                        }
                        eprintln!(
                            "  rep {} c={conc:<2} {:<22} ours {:>9.0} ops/s",
                            rep + 1,
                            w.name(),
                            ours.map_or(0.0, |o| o.ops_per_sec)
                        );
                    }
                }
            }
            let subject = |label| subjects.list.iter().find(|(l, _)| *l == label);
            if let (Some((_, plain)), Some((_, versioned))) =
                (subject(OURS), subject(OURS_VERSIONED))
            {
                for &conc in &CONCURRENCY {
                    let cell: Cell = (backend.name(), bytes, conc, Workload::Mix.name());
                    let rounds = paired(plain, versioned, conc, dur, 2 * settings.reps).await;
                    eprintln!(
                        "  paired c={conc:<2} versioned / unconditional {:.3}",
                        median(&mut rounds.clone())
                    );
                    results.versioning.insert(cell, rounds);
                }
            }
            if let Some((_, owned)) = subjects.list.iter().find(|(l, _)| *l == OURS_OWNED) {
                end_all(backend, bytes, owned, &*subjects.store, results).await;
            }
            for (label, s) in &subjects.list {
                if let Err(e) = s.cleanup().await {
                    eprintln!("!! cleanup of {label} failed: {e}");
                }
            }
        }
    }
}

/// `rounds` back-to-back request-mix runs of `a` and `b` at concurrency `conc`, half of `dur`
/// each, in the order A B, B A, A B, …; answers each round's ops/s ratio b / a. A 10 % cost
/// is smaller than the drift of this shared 2-core machine over the seconds between two cells
/// of the main loop, so the versioning cost is taken from adjacent runs, alternating which
/// goes first.
async fn paired(
    a: &Arc<dyn Subject>,
    b: &Arc<dyn Subject>,
    conc: usize,
    dur: Duration,
    rounds: usize,
) -> Vec<f64> {
    let mix = |s: &Arc<dyn Subject>| {
        measure::run(
            op(Arc::clone(s), Workload::Mix, KEYSPACE),
            conc,
            dur / 2,
            None,
        )
    };
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (a_ops, b_ops) = if round % 2 == 0 {
            let a_ops = mix(a).await.ops_per_sec;
            (a_ops, mix(b).await.ops_per_sec)
        } else {
            let b_ops = mix(b).await.ops_per_sec;
            (mix(a).await.ops_per_sec, b_ops)
        };
        if a_ops > 0.0 {
            ratios.push(b_ops / a_ops);
        }
    }
    ratios
}

/// Seeds [`END_ALL_SESSIONS`] sessions of [`BENCH_OWNER`] (the owned subject's keys) and times
/// one `destroy_owned` of them all.
async fn end_all(
    backend: Backend,
    bytes: usize,
    owned: &Arc<dyn crate::subject::Subject>,
    store: &dyn session_core::SessionStore,
    results: &mut Results,
) {
    seed(owned, END_ALL_SESSIONS).await;
    let owner = session_core::Owner::new(BENCH_OWNER).unwrap();
    let started = std::time::Instant::now();
    match store.destroy_owned(&owner, None).await {
        Ok(ended) => {
            let took = started.elapsed();
            eprintln!("  ending {ended} sessions of one user took {took:.1?}");
            results.end_all.push((backend.name(), bytes, took, ended));
        }
        Err(e) => eprintln!("!! ending a user's sessions failed: {e}"),
    }
}

async fn redis_bench(
    settings: &Settings,
    urls: &Urls,
    backend: Backend,
    conc: usize,
    bytes: usize,
) -> Option<redis_benchmark::GetSet> {
    let cluster = backend == Backend::RedisCluster;
    let url = if cluster {
        urls.cluster.first()?
    } else {
        &urls.redis
    };
    let (host, port) = redis_benchmark::host_port(url);
    let per_client: u64 = if settings.quick { 3_000 } else { 10_000 };
    let requests = if conc == 1 {
        per_client
    } else {
        per_client * 4
    };
    let result = redis_benchmark::run(&host, port, cluster, conc, bytes, requests).await;
    // Its one key, `key:__rand_int__`.
    let _ = cleanup_redis_benchmark_key(urls, cluster).await;
    match result {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("!! redis-benchmark: {e}");
            None
        }
    }
}

async fn cleanup_redis_benchmark_key(urls: &Urls, cluster: bool) -> redis::RedisResult<()> {
    let mut del = redis::cmd("DEL");
    del.arg("key:__rand_int__");
    if cluster {
        let client = redis::cluster::ClusterClient::new(urls.cluster.clone())?;
        let mut c = client.get_async_connection().await?;
        del.query_async::<i64>(&mut c).await.map(drop)
    } else {
        let client = redis::Client::open(urls.redis.as_str())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        del.query_async::<i64>(&mut c).await.map(drop)
    }
}

fn cell_text(s: Option<Stats>) -> String {
    match s {
        Some(s) => {
            let err = if s.errors > 0 {
                format!(" **{} errors**", s.errors)
            } else {
                String::new()
            };
            format!(
                "{:.0} ({}/{}){err}",
                s.ops_per_sec,
                us(s.p50_us),
                us(s.p99_us)
            )
        }
        None => "–".to_owned(),
    }
}

/// Microseconds with sensible precision.
pub(crate) fn us(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or("–".to_owned(), |r| format!("{r:.2}×"))
}

/// The store-level tables, one per backend and payload, and the targets.
pub(crate) fn report(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Store level\n");
    let _ = writeln!(
        out,
        "Each cell: median ops/s (median p50/p99 latency in µs) over {} repetition(s) of {:.1} s \
         per workload; ratios are medians of the per-repetition ratios ours / peer.\n",
        settings.reps,
        settings.duration.as_secs_f64()
    );
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            let _ = writeln!(out, "### {} — {bytes} B\n", backend.name());
            let redis = matches!(backend, Backend::Redis | Backend::RedisCluster);
            let _ = write!(
                out,
                "| workload | c | ours | raw driver | ours/raw | tower-sessions | ours/t-s |"
            );
            if redis {
                let _ = write!(out, " redis-benchmark | ours/r-b |");
            }
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "|---|---|---|---|---|---|---|{}",
                if redis { "---|---|" } else { "" }
            );
            for w in Workload::REPORTED {
                for &conc in &CONCURRENCY {
                    let cell: Cell = (backend.name(), bytes, conc, w.name());
                    let _ = write!(
                        out,
                        "| {} | {conc} | {} | {} | {} | {} | {} |",
                        w.name(),
                        cell_text(results.median(cell, OURS)),
                        cell_text(results.median(cell, RAW)),
                        ratio_text(results.ratio(cell, RAW)),
                        cell_text(results.median(cell, TOWER)),
                        ratio_text(results.ratio(cell, TOWER)),
                    );
                    if redis {
                        let _ = write!(
                            out,
                            " {} | {} |",
                            cell_text(results.median(cell, REDIS_BENCHMARK)),
                            ratio_text(results.ratio(cell, REDIS_BENCHMARK)),
                        );
                    }
                    let _ = writeln!(out);
                }
            }
            let _ = writeln!(out);
        }
    }
    out.push_str(&versioning(results, settings));
    out.push_str(&owners(results, settings));
    out.push_str(&replica_ack(results, settings));
    out.push_str(&instrumentation(results, settings));
    out
}

/// The cost of versioned saves: the request mix with `write_if` at the loaded version beside the
/// same mix with unconditional writes, measured in the same run.
fn versioning(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Cost of versioned saves (request mix)
"
    );
    let _ = writeln!(
        out,
        "Every fifth request writes: unconditionally (`write`, as before issue 14) or with \
         `write_if` at the version the rolling `load` returned (as the middleware now saves). \
         Target: within 10 % (versioned / unconditional ≥ 0.9×). The ops/s columns are the \
         main loop's medians; the ratio is the median over {} paired rounds (the two subjects \
         back to back, {:.2} s each, alternating which goes first), which the machine's drift \
         between cells does not reach.\n",
        2 * settings.reps,
        settings.duration.as_secs_f64() / 2.0
    );
    let _ = writeln!(
        out,
        "| backend | payload | c | unconditional | versioned | versioned / unconditional | |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            for &conc in &CONCURRENCY {
                let cell: Cell = (backend.name(), bytes, conc, Workload::Mix.name());
                let Some(mut rounds) = results.versioning.get(&cell).cloned() else {
                    continue;
                };
                if rounds.is_empty() {
                    continue;
                }
                let cost = median(&mut rounds);
                let verdict = if cost >= 0.9 { "met" } else { "**missed**" };
                let _ = writeln!(
                    out,
                    "| {} | {bytes} B | {conc} | {} | {} | {cost:.2}× | {verdict} |",
                    backend.name(),
                    cell_text(results.median(cell, OURS)),
                    cell_text(results.median(cell, OURS_VERSIONED)),
                );
            }
        }
    }
    let _ = writeln!(out);
    out
}

/// The cost of the owner index (issue 15): the request mix on sessions with an owner beside the
/// same mix on sessions without one (both with versioned saves), and the time to end all of a
/// user's sessions.
fn owners(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Cost of owned sessions (request mix)\n");
    let _ = writeln!(
        out,
        "The request mix with versioned saves on sessions that have an owner (every session of \
         one user) beside sessions without one. On a single node, Redis, MySQL, MongoDB and \
         memory keep the owner index in the same operation as the record; on a Redis Cluster \
         the index is in another slot, so a rolling read or touch of an owned session costs two \
         more round trips there (index first, then the record).\n"
    );
    let _ = writeln!(
        out,
        "| backend | payload | c | without owner | owned | owned / without | |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            for &conc in &CONCURRENCY {
                let cell: Cell = (backend.name(), bytes, conc, Workload::Mix.name());
                let (Some(plain), Some(owned)) = (
                    results.median(cell, OURS_VERSIONED),
                    results.median(cell, OURS_OWNED),
                ) else {
                    continue;
                };
                if plain.ops_per_sec <= 0.0 {
                    continue;
                }
                let ratio = owned.ops_per_sec / plain.ops_per_sec;
                let verdict = if ratio >= 0.9 {
                    "within 10 %"
                } else {
                    "**costs more**"
                };
                let _ = writeln!(
                    out,
                    "| {} | {bytes} B | {conc} | {} | {} | {ratio:.2}× | {verdict} |",
                    backend.name(),
                    cell_text(Some(plain)),
                    cell_text(Some(owned)),
                );
            }
        }
    }
    let _ = writeln!(out);
    if !results.end_all.is_empty() {
        let _ = writeln!(
            out,
            "### Ending all of one user's {END_ALL_SESSIONS} sessions\n\n\
             One `destroy_owned` call. Round trips: memory none; MySQL one `DELETE … LIMIT 1000` \
             per 1 000 sessions plus one; MongoDB one `deleteMany`; Redis one `ZRANGE`, then per \
             500 sessions one `MGET`, one `DEL` and one `ZREM` (a cluster splits each by slot).\n"
        );
        let _ = writeln!(out, "| backend | payload | sessions ended | time |");
        let _ = writeln!(out, "|---|---|---|---|");
        for (backend, bytes, took, ended) in &results.end_all {
            let _ = writeln!(
                out,
                "| {backend} | {bytes} B | {ended} | {:.1} ms |",
                took.as_secs_f64() * 1000.0
            );
        }
        let _ = writeln!(out);
    }
    out
}

/// The cost of the instrumentation every layer applies (issue 19) when the application installs
/// no `metrics` recorder and no `tracing` subscriber: our store through `Instrumented` beside the
/// bare store, in the same run.
fn instrumentation(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Cost of instrumentation with no recorder (`get`, request mix)\n\n\
         Our store through session-tower's `Instrumented` (a span and a latency histogram per \
         operation, as every `SessionLayer` wraps its store) with no `metrics` recorder and no \
         `tracing` subscriber installed, beside the bare store. 1.00× is free.\n"
    );
    let _ = writeln!(
        out,
        "| backend | payload | workload | c | bare | instrumented | instrumented / bare |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            for w in [Workload::Get, Workload::Mix] {
                for &conc in &CONCURRENCY {
                    let cell: Cell = (backend.name(), bytes, conc, w.name());
                    let Some(r) = results.ratio(cell, OURS_INSTRUMENTED).filter(|r| *r > 0.0)
                    else {
                        continue;
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {bytes} B | {} | {conc} | {} | {} | {:.2}× |",
                        backend.name(),
                        w.name(),
                        cell_text(results.median(cell, OURS)),
                        cell_text(results.median(cell, OURS_INSTRUMENTED)),
                        1.0 / r
                    );
                }
            }
        }
    }
    let _ = writeln!(out);
    out
}

/// The cost of `with_replica_ack` (issue 18): our Sentinel store with `WAIT 1` after every write
/// beside the same store without it, on every workload, in the same run.
fn replica_ack(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    if !settings.backends.contains(&Backend::RedisSentinel) {
        return out;
    }
    let _ = writeln!(
        out,
        "### Cost of replica acknowledgement (Sentinel, `WAIT 1`)\n"
    );
    let _ = writeln!(
        out,
        "Our store through Sentinel (one primary, one replica on loopback) with \
         `with_replica_ack(1, {} ms)`: every write is followed by `WAIT 1 {}` on the same \
         connection, so it returns only once the replica has it. Reads send no `WAIT`. The \
         ratio is with / without, from the same run.\n",
        REPLICA_ACK_TIMEOUT.as_millis(),
        REPLICA_ACK_TIMEOUT.as_millis()
    );
    let _ = writeln!(
        out,
        "| workload | payload | c | without | with `WAIT 1` | with / without |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for &bytes in &PAYLOADS {
        for w in Workload::REPORTED {
            for &conc in &CONCURRENCY {
                let cell: Cell = (Backend::RedisSentinel.name(), bytes, conc, w.name());
                let Some(r) = results.ratio(cell, OURS_REPLICA_ACK).filter(|r| *r > 0.0) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "| {} | {bytes} B | {conc} | {} | {} | {:.2}× |",
                    w.name(),
                    cell_text(results.median(cell, OURS)),
                    cell_text(results.median(cell, OURS_REPLICA_ACK)),
                    1.0 / r
                );
            }
        }
    }
    let _ = writeln!(out);
    out
}

/// The store-level targets (issue 17; redis-benchmark's from issue 8) this run measured.
pub(crate) fn targets(results: &Results, settings: &Settings) -> Vec<Target> {
    let mut out = Vec::new();
    let mut add = |what: &str, cell: Cell, peer: &str, goal: f64| {
        if let Some(r) = results.ratio(cell, peer) {
            let place = format!("{}, {} B, c={}", cell.0, cell.1, cell.2);
            out.push(Target::at_least(what, place, r, goal));
        }
    };
    for &backend in &settings.backends {
        for &bytes in &PAYLOADS {
            for &conc in &CONCURRENCY {
                let b = backend.name();
                if matches!(backend, Backend::Redis | Backend::RedisCluster) {
                    for w in [Workload::Get, Workload::SetChanged] {
                        let cell = (b, bytes, conc, w.name());
                        add(
                            &format!("{} vs redis-benchmark", w.name()),
                            cell,
                            REDIS_BENCHMARK,
                            0.9,
                        );
                        add(&format!("{} vs raw driver", w.name()), cell, RAW, 0.95);
                    }
                }
                if backend == Backend::Memory {
                    add(
                        "get vs tower-sessions",
                        (b, bytes, conc, Workload::Get.name()),
                        TOWER,
                        1.3,
                    );
                }
                add(
                    "request mix vs tower-sessions",
                    (b, bytes, conc, Workload::Mix.name()),
                    TOWER,
                    1.3,
                );
            }
        }
    }
    out
}
