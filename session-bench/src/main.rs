//! The session-bench harness (issue 8): our stores and middleware side by side with the raw
//! drivers, tower-sessions, redis-benchmark and koa, on the same servers in the same run.
//!
//! ```text
//! cargo run -p session-bench --release -- all            # everything, 3 repetitions
//! cargo run -p session-bench --release -- all --quick    # a few minutes, 1 repetition
//! cargo run -p session-bench --release -- store|http|scale [--quick] [--reps N]
//!     [--check] [--plot FILE.svg] [--backends memory,redis,redis-cluster,redis-sentinel,mongo,mariadb,postgres,sqlite] [--out FILE]
//! ```
//!
//! Server URLs come from `REDIS_URL`, `REDIS_CLUSTER_URLS`, `REDIS_SENTINEL_URL`, `MONGODB_URL`, `MYSQL_URL`,
//! `POSTGRES_URL` (the integration tests' variables and defaults; SQLite uses files in the
//! temporary directory). Results go to stdout as Markdown (and to `--out`), progress to stderr. Every benchmark namespaces its keys, collections and tables
//! with a run tag and removes them when done.
// A benchmark binary, not a library: failing loudly on a broken setup is the right behaviour,
// and its items are documented for readers, not for rustdoc.
#![allow(clippy::unwrap_used, missing_docs)]

mod backends;
mod cli;
mod http;
mod measure;
mod raw;
mod redis_benchmark;
mod scale;
mod store_bench;
mod subject;
mod targets;

use std::time::Duration;

use clap::Parser;

use backends::{Backend, Urls};
use cli::{Cli, Command, ProfileArgs, ProfileWorkload};

/// What a run does, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) quick: bool,
    pub(crate) reps: usize,
    pub(crate) duration: Duration,
    pub(crate) backends: Vec<Backend>,
}

fn main() {
    let cli = Cli::parse();
    let (run, store, http, scale) = match cli.command {
        Command::MemChild { kind, sessions } => return scale::mem_child(kind, sessions),
        Command::Profile(args) => return profile(&args),
        Command::All(run) => (run, true, true, true),
        Command::Store(run) => (run, true, false, false),
        Command::Http(run) => (run, false, true, false),
        Command::Scale(run) => (run, false, false, true),
    };
    let settings = run.settings();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let urls = Urls::from_env();
    let mut report = header(&settings, &args);
    let mut targets = Vec::new();
    runtime.block_on(async {
        if store {
            let mut results = store_bench::Results::default();
            store_bench::run(&settings, &urls, &mut results).await;
            report.push_str(&store_bench::report(&results, &settings));
            targets.extend(store_bench::targets(&results, &settings));
            report.push_str(&format!(
                "Load average before each backend/payload: {}\n\n",
                results.loads.join("; ")
            ));
            for s in &results.skipped {
                report.push_str(&format!("Skipped: {s}\n\n"));
            }
        }
        if http {
            let (text, measured) = http::run(&settings, &urls).await;
            report.push_str(&text);
            targets.extend(measured);
        }
        if scale {
            let (text, measured) = scale::run(&settings, &urls).await;
            report.push_str(&text);
            targets.extend(measured);
        }
    });
    report.push_str(&targets::table(&targets));
    print!("{report}");
    if let Some(path) = &run.out {
        if let Err(e) = std::fs::write(path, &report) {
            eprintln!("cannot write {}: {e}", path.display());
        }
    }
    if let Some(path) = &run.plot {
        match targets::plot(&targets, "request mix vs tower-sessions", path) {
            Ok(()) => eprintln!("plot written to {}", path.display()),
            Err(e) => eprintln!("cannot draw {}: {e}", path.display()),
        }
    }
    if run.check {
        let missed = targets::missed(&targets);
        for line in &missed {
            eprintln!("{line}");
        }
        if !missed.is_empty() || targets.is_empty() {
            eprintln!(
                "{} of {} target(s) missed",
                missed.len().max(usize::from(targets.is_empty())),
                targets.len()
            );
            std::process::exit(1);
        }
        eprintln!("all {} target(s) met", targets.len());
    }
}

fn header(settings: &Settings, args: &[String]) -> String {
    let date = std::process::Command::new("date")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "# session-bench results\n\nCommand: `session-bench {}` — {date}; {} repetition(s); \
         load average at start: {}\n\n",
        args.join(" "),
        settings.reps,
        measure::load_average()
    )
}

/// `profile <backend> <ours|raw driver|tower-sessions> <get|set|mix> <bytes> <ops>`: seeds,
/// then runs `ops` sequential operations, so that `valgrind --tool=callgrind` sees one subject
/// alone.
fn profile(args: &ProfileArgs) {
    let (backend, who, bytes, ops) = (args.backend, args.subject.as_str(), args.bytes, args.ops);
    let w = match args.workload {
        ProfileWorkload::Get => subject::Workload::Get,
        ProfileWorkload::Set => subject::Workload::SetChanged,
        ProfileWorkload::Mix => subject::Workload::Mix,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tag = format!("prof{}", std::process::id());
        let subjects = backends::build(backend, &Urls::from_env(), &tag, 1000, bytes)
            .await
            .unwrap();
        for (label, s) in &subjects.list {
            if *label == who {
                let seed = subject::op(std::sync::Arc::clone(s), subject::Workload::Seed, 1000);
                for n in 0..1000 {
                    seed(n).await.unwrap();
                }
                let o = subject::op(std::sync::Arc::clone(s), w, 1000);
                let started = std::time::Instant::now();
                for n in 0..ops {
                    o(n).await.unwrap();
                }
                eprintln!(
                    "{who}: {:.2} µs/op",
                    started.elapsed().as_secs_f64() * 1e6 / ops as f64
                );
            }
            s.cleanup().await.unwrap();
        }
    });
}
