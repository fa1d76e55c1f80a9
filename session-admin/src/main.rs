//! `session-admin`: count, list, inspect, purge and end the sessions of a running application,
//! on any store URL `session-config` accepts.
//!
//! ```text
//! session-admin --store redis://127.0.0.1:6379/?prefix=app: count
//! session-admin --store mysql://root@127.0.0.1/app list --owner alice --json
//! session-admin --store mysql://root@127.0.0.1/app purge-expired
//! SESSION_STORE_URL=… session-admin end-user alice
//! ```
//!
//! Enumeration is paged and bounded in memory whatever the store's size: `SCAN` (never `KEYS`)
//! on the node or on every cluster primary, keyset pagination on MySQL, PostgreSQL and SQLite, a
//! sorted `find` on MongoDB. See the crate's README for the exit codes and measurements.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

/// The exit codes, as `--help` prints them.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the store failed or could not be reached
  2  bad command line
  3  bad store URL or store configuration
  4  no such session (unknown or malformed handle)
  5  the store's backend does not support this command";

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub(crate) const STORE: u8 = 1;
    pub(crate) const CONFIG: u8 = 3;
    pub(crate) const NOT_FOUND: u8 = 4;
    pub(crate) const UNSUPPORTED: u8 = 5;

    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<session_core::Error> for Failure {
    fn from(e: session_core::Error) -> Self {
        let code = match &e {
            session_core::Error::Unsupported { .. } => Failure::UNSUPPORTED,
            session_core::Error::Config { .. } => Failure::CONFIG,
            _ => Failure::STORE,
        };
        // Store errors never hold a session key or a password.
        Failure::new(code, session_core::error_chain(&e))
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("session-admin: cannot start the runtime: {e}");
            return ExitCode::from(Failure::STORE);
        }
    };
    match runtime.block_on(commands::run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("session-admin: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
