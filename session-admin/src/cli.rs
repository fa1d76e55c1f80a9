//! The command line, as `clap` parses it.

use clap::{Parser, Subcommand};

/// Operators' tool for the sessions of a running application.
///
/// Works on any store URL `session-config` accepts (the same `SESSION_STORE_URL` the
/// application reads). Never prints a session id: sessions are named by their handle, a
/// one-way digest of the id.
#[derive(Debug, Parser)]
#[command(name = "session-admin", version, about, long_about = None)]
#[command(after_help = crate::EXIT_CODES_HELP)]
pub(crate) struct Cli {
    /// The store URL, as `session-config` parses it (`redis://…`, `mysql://…`, …).
    #[arg(long, env = "SESSION_STORE_URL", hide_env_values = true)]
    pub(crate) store: String,

    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Sessions read per round trip while enumerating.
    #[arg(long, global = true, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) page_size: u32,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Counts the live sessions (records not yet expired).
    Count,
    /// Lists sessions by handle; with `--owner`, one user's sessions with their times and
    /// metadata, from the per-user index.
    List {
        /// Only the sessions of this owner (the id the application passed to `set_owner`).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Shows the data of the session with this handle (its id is never shown).
    Inspect {
        /// The session's handle, as `list` prints it.
        handle: String,
    },
    /// Deletes expired records in batches (stores whose server expires records itself,
    /// Redis and MongoDB, need no purge and answer that it is unsupported).
    PurgeExpired {
        /// Records deleted per statement.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
    /// Ends every session of a user ("log out everywhere").
    EndUser {
        /// The owner whose sessions end.
        owner: String,
    },
}
