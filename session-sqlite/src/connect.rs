//! Opening a database file: [`SqliteStore::connect`], [`SqliteStore::open`] and the connection
//! settings they use.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use session_core::{Error, Result};
use session_sql::timed;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{BACKEND, Lite};
use crate::{DEFAULT_TIMEOUT, SqliteStore};

/// How long a statement waits for another connection's write lock before SQLite reports the
/// database busy: 3 seconds, below [`DEFAULT_TIMEOUT`], so that a database locked for too long
/// reads as [`Error::Unavailable`] rather than as a slow statement.
pub const DEFAULT_BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(3);

/// How long a pool built here waits for a free connection: as long as the busy timeout.
const ACQUIRE_TIMEOUT: StdDuration = DEFAULT_BUSY_TIMEOUT;

impl SqliteStore {
    /// The connection settings [`SqliteStore::connect`] uses for `url` (`sqlite://path/to/file.db`,
    /// `sqlite:file.db`, or `sqlite::memory:`), for building a pool of your own:
    ///
    /// - the file is created when missing;
    /// - `journal_mode = WAL`: readers never block the writer nor the writer the readers, and a
    ///   commit appends to the log instead of rewriting pages;
    /// - `synchronous = NORMAL`: safe with WAL against an application crash (a committed session
    ///   survives `kill -9`); a power loss may lose the last commits, never corrupt the file;
    /// - a busy timeout of [`DEFAULT_BUSY_TIMEOUT`]: a writer waits that long for the write
    ///   lock (SQLite allows one writer at a time) before failing with a transient error.
    ///
    /// Options given in the URL's query (`mode=ro`, …) are sqlx's and apply first.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL sqlx cannot read.
    pub fn options(url: &str) -> Result<SqliteConnectOptions> {
        let options = SqliteConnectOptions::from_str(url).map_err(|e| {
            Error::config_with_source(
                BACKEND,
                "malformed SQLite URL, expected sqlite://path/to/file.db",
                e,
            )
        })?;
        Ok(options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(DEFAULT_BUSY_TIMEOUT))
    }

    /// Opens (creating when missing) the database at `url` with [`SqliteStore::options`], in a
    /// pool of up to 10 connections.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL, [`Error::Backend`] when the file cannot be opened
    /// or created (missing directory, no permission, not a database).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(Self::options(url)?).await
    }

    /// [`SqliteStore::connect`] for a path instead of a URL.
    ///
    /// # Errors
    /// As [`SqliteStore::connect`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::connect_with(Self::options("sqlite://")?.filename(path)).await
    }

    /// Opens a pool with `options` (for example [`SqliteStore::options`] with a longer
    /// `busy_timeout`) and checks that the file opens, within [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// As [`SqliteStore::connect`].
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        // Open one connection now, so a file that cannot be opened fails here and not on the
        // first request.
        timed::<Lite, _, _>(DEFAULT_TIMEOUT, pool.acquire()).await?;
        Ok(Self::new(pool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_that_cannot_be_created_is_a_permanent_error() {
        let err = SqliteStore::open("/nonexistent-dir/for/sure/sessions.db").await;
        match err {
            Err(e @ Error::Backend { .. }) => assert!(!e.is_transient()),
            other => panic!("expected Backend, got {other:?}"),
        }
    }

    #[test]
    fn malformed_urls_are_config_errors() {
        assert!(matches!(
            SqliteStore::options("sqlite://x.db?mode=sideways"),
            Err(Error::Config { .. })
        ));
    }
}
