//! [`MySqlStore::connect`]: a store from a URL, with a pool of its own.

#[cfg(doc)]
use session_core::Error;
use session_core::Result;

use crate::error::My;
use crate::{DEFAULT_TIMEOUT, MySqlStore};

impl MySqlStore {
    /// Builds a pool for `url` (`mysql://user:password@host:3306/database`) and checks that the
    /// server answers, within [`DEFAULT_TIMEOUT`].
    ///
    /// The pool uses sqlx's defaults (up to 10 connections, each checked with a ping before use)
    /// and waits at most [`CONNECT_ACQUIRE_TIMEOUT`](session_sql::CONNECT_ACQUIRE_TIMEOUT) (3 seconds)
    /// for a connection. Build your own pool and use
    /// [`MySqlStore::new`] to tune it.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (the message never contains the password);
    /// [`Error::Unavailable`] at once when the connection is refused or fails, and
    /// [`Error::Timeout`] when the server does not answer in time; [`Error::Backend`] when the
    /// server refuses the login or the database.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = session_sql::connect_pool!(
            My,
            sqlx::MySql,
            url,
            "malformed MySQL URL, expected mysql://user:password@host:port/database",
            DEFAULT_TIMEOUT
        )
        .await?;
        Ok(Self::new(pool))
    }
}
