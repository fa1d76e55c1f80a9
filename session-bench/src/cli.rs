//! The command line, parsed by clap: a value that does not parse is an error, never a default.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::Settings;
use crate::backends::{Backend, OURS, RAW, TOWER};

/// Benchmarks of every session store against raw drivers and peer libraries.
#[derive(Debug, Parser)]
#[command(
    name = "session-bench",
    after_help = "Server URLs come from REDIS_URL, REDIS_CLUSTER_URLS, REDIS_SENTINEL_URL, MONGODB_URL, MYSQL_URL and POSTGRES_URL \
                  (the integration tests' variables and defaults)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Every benchmark: store, http and scale.
    All(RunArgs),
    /// Store operations: ours, the raw drivers and tower-sessions on each backend.
    Store(RunArgs),
    /// Whole requests through the middleware, against tower-sessions and koa.
    Http(RunArgs),
    /// How cost grows with the number of live sessions.
    Scale(RunArgs),
    /// The child process of the memory-scale benchmark: prints `<rss before> <rss after>`.
    #[command(hide = true)]
    MemChild {
        /// Whose memory store.
        kind: MemKind,
        /// How many sessions to insert.
        sessions: usize,
    },
    /// A fixed number of sequential operations of one subject, for callgrind.
    #[command(hide = true)]
    Profile(ProfileArgs),
}

/// The options of the benchmark runs.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A few minutes: shorter measurements, one repetition by default.
    #[arg(long)]
    quick: bool,
    /// Repetitions of each measurement [default: 3, or 1 with --quick].
    #[arg(long)]
    reps: Option<NonZeroUsize>,
    /// The store backends to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Backend::ALL)]
    backends: Vec<Backend>,
    /// Also write the Markdown report to this file.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Exit with status 1 when a target was missed, naming each on stderr.
    #[arg(long)]
    pub(crate) check: bool,
    /// Also draw the request-mix ratios against tower-sessions as an SVG bar chart here.
    #[arg(long)]
    pub(crate) plot: Option<PathBuf>,
}

impl RunArgs {
    pub(crate) fn settings(&self) -> Settings {
        let default_reps = if self.quick { 1 } else { 3 };
        Settings {
            quick: self.quick,
            reps: self.reps.map_or(default_reps, NonZeroUsize::get),
            duration: if self.quick {
                Duration::from_millis(300)
            } else {
                Duration::from_secs(1)
            },
            backends: self.backends.clone(),
        }
    }
}

/// Whose memory store `mem-child` fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MemKind {
    /// session-memory.
    Ours,
    /// tower-sessions-moka-store.
    Tower,
}

/// `profile <backend> <subject> <workload> <bytes> <ops>`.
#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    #[arg(value_enum, default_value_t = Backend::Redis)]
    pub(crate) backend: Backend,
    #[arg(default_value = OURS, value_parser = [OURS, RAW, TOWER])]
    pub(crate) subject: String,
    #[arg(value_enum, default_value_t = ProfileWorkload::Get)]
    pub(crate) workload: ProfileWorkload,
    #[arg(default_value_t = 256)]
    pub(crate) bytes: usize,
    #[arg(default_value_t = 10_000)]
    pub(crate) ops: u64,
}

/// The workloads `profile` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileWorkload {
    /// A plain read.
    Get,
    /// A write of changed data.
    Set,
    /// A rolling read, and on every fifth request a changed write.
    Mix,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("session-bench").chain(args.iter().copied()))
    }

    fn settings(args: &[&str]) -> Settings {
        match parse(args).unwrap().command {
            Command::All(run) | Command::Store(run) | Command::Http(run) | Command::Scale(run) => {
                run.settings()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn repetitions_default_to_three_or_one_when_quick() {
        assert_eq!(settings(&["all"]).reps, 3);
        assert_eq!(settings(&["store", "--quick"]).reps, 1);
        assert_eq!(settings(&["scale", "--quick", "--reps", "5"]).reps, 5);
    }

    #[test]
    fn backends_default_to_all_and_take_a_comma_separated_list() {
        assert_eq!(settings(&["http"]).backends, Backend::ALL);
        assert_eq!(
            settings(&["store", "--backends", "redis-cluster,mariadb"]).backends,
            [Backend::RedisCluster, Backend::MySql]
        );
    }

    #[test]
    fn bad_values_are_errors_not_defaults() {
        for args in [
            &[][..],
            &["everything"],
            &["store", "--reps", "0"],
            &["store", "--reps", "x"],
            &["store", "--backends", "redis,memcached"],
            &["store", "--bogus"],
            &["profile", "cassandra"],
            &["profile", "redis", "ours", "delete"],
            &["profile", "redis", "ours", "get", "lots"],
            &["mem-child", "ours", "many"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_hidden_subcommands_parse_what_the_benchmarks_pass_them() {
        assert!(matches!(
            parse(&["mem-child", "tower", "10000"]).unwrap().command,
            Command::MemChild {
                kind: MemKind::Tower,
                sessions: 10_000
            }
        ));
        let Command::Profile(p) = parse(&["profile", "mariadb", "raw driver", "set", "512", "9"])
            .unwrap()
            .command
        else {
            panic!("not a profile")
        };
        assert_eq!(
            (p.backend, p.subject.as_str(), p.workload, p.bytes, p.ops),
            (Backend::MySql, RAW, ProfileWorkload::Set, 512, 9)
        );
    }
}
