//! [`SqliteStore`]: construction, configuration and the [`SessionStore`] operations.

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use session_core::{DEFAULT_MAX_RECORD_BYTES, Result};
use session_sql::{Statements, timed};
use sqlx::SqlitePool;

use crate::error::Lite;
use crate::queries::{sql, statements};

/// The table a store uses unless [`SqliteStore::with_table_name`] says otherwise.
pub const DEFAULT_TABLE: &str = "sessions";

/// How long one operation (a `get`, `set`, `destroy`, one cleanup batch, `migrate`) may take,
/// waiting for a pooled connection and for the database's write lock included, before it fails
/// with [`Error::Timeout`](session_core::Error::Timeout): 5 seconds.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// A session store in a table of an SQLite database file, through a `sqlx` connection pool.
///
/// Cloning is cheap: clones share the pool. See the [crate documentation](crate) for the schema,
/// the statements and the settings.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) queries: Arc<Statements>,
    pub(crate) max_record_bytes: usize,
    pub(crate) timeout: StdDuration,
    pub(crate) expiry_resolution: session_core::ExpiryResolution,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        let mut d = f.debug_struct("SqliteStore");
        d.field("file", &options.get_filename())
            .field("table", &self.queries.table);
        self.debug_settings(&mut d).finish()
    }
}

impl SqliteStore {
    /// A store over an existing pool, using table [`DEFAULT_TABLE`], records of at most
    /// [`DEFAULT_MAX_RECORD_BYTES`] and a per-operation timeout of [`DEFAULT_TIMEOUT`].
    ///
    /// The pool's connection options apply as given: build them with
    /// [`SqliteStore::options`] to get this crate's settings (WAL, a busy timeout).
    pub fn new(pool: SqlitePool) -> Self {
        SqliteStore {
            pool,
            queries: Arc::new(statements(DEFAULT_TABLE)),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            timeout: DEFAULT_TIMEOUT,
            expiry_resolution: session_core::ExpiryResolution::Auto,
        }
    }

    /// Creates the table and its `expires_at` index if they do not exist: the statements in
    /// [`SCHEMA_SQL`](crate::SCHEMA_SQL) for this store's table. Safe to run at every start and
    /// from several stores at once; an existing table is left as it is.
    ///
    /// # Errors
    /// [`Error::Backend`](session_core::Error::Backend) when the file is read-only or not a
    /// database; [`Error::Unavailable`](session_core::Error::Unavailable) while it stays locked.
    pub async fn migrate(&self) -> Result<()> {
        let script = sqlx::raw_sql(sql(&self.queries.create_table[0]));
        timed::<Lite, _, _>(self.timeout, script.execute(&self.pool)).await?;
        Ok(())
    }
}

session_sql::impl_settings!(SqliteStore, SqlitePool);
session_sql::impl_session_store!(SqliteStore, Lite);

#[cfg(test)]
mod tests {
    use super::*;

    // No table: reaching the database would be a Backend error.
    session_sql::settings_tests!(
        SqliteStore::connect("sqlite::memory:").await.unwrap(),
        session_sql::MAX_RECORD_BYTES_CAP
    );
}
