//! [`PgStore`]: construction, configuration and the [`SessionStore`] operations.

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use session_core::{DEFAULT_MAX_RECORD_BYTES, Result};
use session_sql::{Statements, timed};
use sqlx::PgPool;

use crate::error::Pg;
use crate::queries::{sql, statements};

/// The table a store uses unless [`PgStore::with_table_name`] says otherwise.
pub const DEFAULT_TABLE: &str = "sessions";

/// How long one operation (a `get`, `set`, `destroy`, one cleanup batch, `migrate`) may take,
/// waiting for a pooled connection included, before it fails with
/// [`Error::Timeout`](session_core::Error::Timeout): 5 seconds.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

// A dead server must read as unavailable (the pool's acquire timeout), not as a slow statement.
const _: () =
    assert!(session_sql::CONNECT_ACQUIRE_TIMEOUT.as_millis() < DEFAULT_TIMEOUT.as_millis());

/// A session store on a PostgreSQL table, through a `sqlx` connection pool.
///
/// Cloning is cheap: clones share the pool. See the [crate documentation](crate) for the schema,
/// the statements and the failure behaviour.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) queries: Arc<Statements>,
    pub(crate) max_record_bytes: usize,
    unlogged: bool,
    pub(crate) timeout: StdDuration,
    pub(crate) expiry_resolution: session_core::ExpiryResolution,
}

impl fmt::Debug for PgStore {
    /// Shows where the store points and how it is configured; never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        let mut d = f.debug_struct("PgStore");
        d.field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("username", &options.get_username())
            .field("database", &options.get_database())
            .field("table", &self.queries.table)
            .field("unlogged", &self.unlogged);
        self.debug_settings(&mut d).finish()
    }
}

impl PgStore {
    /// A store over an existing pool, using table [`DEFAULT_TABLE`] (logged), records of at most
    /// [`DEFAULT_MAX_RECORD_BYTES`] and a per-operation timeout of [`DEFAULT_TIMEOUT`].
    ///
    /// The pool's own settings apply: with sqlx's default `acquire_timeout` (30 s) a dead server
    /// surfaces as [`Error::Timeout`](session_core::Error::Timeout) from the per-operation
    /// timeout; set a shorter `acquire_timeout` to get
    /// [`Error::Unavailable`](session_core::Error::Unavailable) instead. Both are transient.
    pub fn new(pool: PgPool) -> Self {
        PgStore {
            pool,
            queries: Arc::new(statements(DEFAULT_TABLE)),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            unlogged: false,
            timeout: DEFAULT_TIMEOUT,
            expiry_resolution: session_core::ExpiryResolution::Auto,
        }
    }

    /// Makes [`migrate`](Self::migrate) create the table `UNLOGGED` (default: logged).
    ///
    /// An unlogged table skips PostgreSQL's write-ahead log: every write (login, save, rolling
    /// read) is cheaper and commits without waiting for a WAL flush. The price: after a crash or
    /// an unclean shutdown PostgreSQL **truncates the table** (every user is logged out), and the
    /// table is not replicated to standbys (sessions are lost on a failover). A clean restart
    /// keeps it. Sessions are often an acceptable thing to lose; decide per deployment.
    ///
    /// Only affects a table `migrate` creates; change an existing one with `ALTER TABLE … SET
    /// UNLOGGED` (or `SET LOGGED`).
    pub fn with_unlogged(mut self, unlogged: bool) -> Self {
        self.unlogged = unlogged;
        self
    }

    /// Creates the table and its `expires_at` index if they do not exist: the statements in
    /// [`SCHEMA_SQL`](crate::SCHEMA_SQL) for this store's table (`CREATE UNLOGGED TABLE` with
    /// [`with_unlogged`](Self::with_unlogged)), in one transaction holding an advisory lock on the
    /// table's name. Safe to run at every start and from several processes at once; an existing
    /// table is left as it is.
    ///
    /// # Errors
    /// [`Error::Backend`](session_core::Error::Backend) when the role may not create tables
    /// (apply `schema.sql` by hand instead), transient errors when the server is unreachable.
    pub async fn migrate(&self) -> Result<()> {
        let script = &self.queries.create_table[usize::from(self.unlogged)];
        // Several statements in one simple query run as one implicit transaction.
        timed::<Pg, _, _>(self.timeout, sqlx::raw_sql(sql(script)).execute(&self.pool)).await?;
        Ok(())
    }

    /// Whether [`migrate`](Self::migrate) creates the table unlogged.
    pub fn is_unlogged(&self) -> bool {
        self.unlogged
    }
}

session_sql::impl_settings!(PgStore, PgPool);
session_sql::impl_session_store!(PgStore, Pg);

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgPoolOptions;

    use super::*;

    fn lazy(url: &str) -> PgStore {
        let pool = PgPoolOptions::new().connect_lazy(url).unwrap();
        PgStore::new(pool)
    }

    // Port 1 answers nothing.
    session_sql::settings_tests!(
        lazy("postgres://root@127.0.0.1:1/test"),
        session_sql::MAX_RECORD_BYTES_CAP
    );
    session_sql::url_tests!(
        PgStore,
        lazy,
        "postgres://app:s3cr3t-pw@127.0.0.1:1/db",
        [
            "postgres://app:s3cr3t-pw@127.0.0.1:notaport/db",
            "postgres://app:s3cr3t-pw@host/db?sslmode=sometimes",
        ]
    );

    #[tokio::test]
    async fn the_table_is_logged_unless_asked() {
        let store = lazy("postgres://root@127.0.0.1:1/test");
        assert!(!store.is_unlogged());
        assert!(store.with_unlogged(true).is_unlogged());
    }
}
