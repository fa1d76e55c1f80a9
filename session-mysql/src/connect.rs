//! [`MySqlStore::connect`]: a store from a URL, with a pool of its own.

use std::time::Duration as StdDuration;

use session_core::{Error, Result};
use session_sql::timed;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Connection, MySqlConnection};

use crate::error::{BACKEND, My};
use crate::{DEFAULT_TIMEOUT, MySqlStore};

/// How long a pool built by [`MySqlStore::connect`] waits for a connection (server down, or all
/// connections busy) before reporting [`Error::Unavailable`]. Below [`DEFAULT_TIMEOUT`], so that a
/// dead server reads as "unavailable", not as a slow statement.
const CONNECT_ACQUIRE_TIMEOUT: StdDuration = StdDuration::from_secs(3);

impl MySqlStore {
    /// Builds a pool for `url` (`mysql://user:password@host:3306/database`) and checks that the
    /// server answers, within [`DEFAULT_TIMEOUT`].
    ///
    /// The pool uses sqlx's defaults (up to 10 connections, each checked with a ping before use)
    /// and waits at most 3 seconds for a connection. Build your own pool and use
    /// [`MySqlStore::new`] to tune it.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (the message never contains the password);
    /// [`Error::Unavailable`] at once when the connection is refused or fails, and
    /// [`Error::Timeout`] when the server does not answer in time; [`Error::Backend`] when the
    /// server refuses the login or the database.
    pub async fn connect(url: &str) -> Result<Self> {
        // sqlx's parse errors describe the fault ("invalid port number"), never the URL.
        let options: MySqlConnectOptions = url.parse().map_err(|e| {
            Error::config_with_source(
                BACKEND,
                "malformed MySQL URL, expected mysql://user:password@host:port/database",
                e,
            )
        })?;
        // One direct connection, not the pool: the pool would retry a refused connection with
        // backoff until its acquire timeout, and the caller wants to know now.
        timed::<My, _, _>(DEFAULT_TIMEOUT, async {
            MySqlConnection::connect_with(&options).await?.close().await
        })
        .await?;
        let pool = MySqlPoolOptions::new()
            .acquire_timeout(CONNECT_ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self::new(pool))
    }
}
