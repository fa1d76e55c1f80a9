//! [`MySqlStore`]: construction, configuration and the [`SessionStore`] operations.

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, ExpiryResolution, Loaded, OwnedSession, Owner, OwnerIndex,
    Result, ScanCursor, ScanPage, SessionData, SessionKey, SessionStore, StoreInfo, Version,
    WriteOutcome, async_trait, encode, max_age_ms, now_ms, owner_index, write_expiry,
};
use session_sql::{loaded_row, timed, timed_retry};
use sqlx::MySqlPool;

use crate::error::{My, is_duplicate_column};
use crate::queries::{Queries, sql, statements};

/// The table a store uses unless [`MySqlStore::with_table_name`] says otherwise.
pub const DEFAULT_TABLE: &str = "sessions";

/// How long one operation (a `get`, `set`, `destroy`, one cleanup batch, `migrate`) may take,
/// waiting for a pooled connection included, before it fails with
/// [`Error::Timeout`](session_core::Error::Timeout): 5 seconds. A request handler waiting on a
/// session should fail fast rather than hang on a stalled server.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

// A dead server must read as unavailable (the pool's acquire timeout), not as a slow statement.
const _: () =
    assert!(session_sql::CONNECT_ACQUIRE_TIMEOUT.as_millis() < DEFAULT_TIMEOUT.as_millis());

/// The largest record a `MEDIUMBLOB` column holds: 16 MiB - 1 byte. [`MySqlStore`] caps its
/// record limit here, because a server not in strict SQL mode would silently truncate a longer
/// value.
///
/// The server's `max_allowed_packet` (16 MiB on MariaDB 10.11, 64 MiB on MySQL 8) must hold a
/// record plus a few hundred bytes of statement; a record it refuses fails with
/// [`Error::Backend`](session_core::Error::Backend) and is never truncated.
pub const MEDIUMBLOB_MAX_BYTES: usize = 16 * 1024 * 1024 - 1;

/// A session store on a MySQL 8 or MariaDB 10.11+ table, through a `sqlx` connection pool.
///
/// Cloning is cheap: clones share the pool. See the [crate documentation](crate) for the schema,
/// the statements and the failure behaviour.
#[derive(Clone)]
pub struct MySqlStore {
    pub(crate) pool: MySqlPool,
    pub(crate) queries: Arc<Queries>,
    max_record_bytes: usize,
    pub(crate) timeout: StdDuration,
    expiry_resolution: ExpiryResolution,
}

impl fmt::Debug for MySqlStore {
    /// Shows where the store points and how it is configured; never the password (sqlx's own
    /// `MySqlConnectOptions` would print it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        let mut d = f.debug_struct("MySqlStore");
        d.field("host", &options.get_host())
            .field("port", &options.get_port())
            .field("username", &options.get_username())
            .field("database", &options.get_database())
            .field("table", &self.queries.table);
        self.debug_settings(&mut d).finish()
    }
}

impl MySqlStore {
    /// A store over an existing pool, using table [`DEFAULT_TABLE`], records of at most
    /// [`DEFAULT_MAX_RECORD_BYTES`] and a per-operation timeout of [`DEFAULT_TIMEOUT`].
    ///
    /// The pool's own settings apply: with sqlx's default `acquire_timeout` (30 s) a dead server
    /// surfaces as [`Error::Timeout`](session_core::Error::Timeout) from the per-operation
    /// timeout; set a shorter `acquire_timeout` to get
    /// [`Error::Unavailable`](session_core::Error::Unavailable) instead. Both are transient.
    pub fn new(pool: MySqlPool) -> Self {
        MySqlStore {
            pool,
            queries: Arc::new(statements(DEFAULT_TABLE)),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            timeout: DEFAULT_TIMEOUT,
            expiry_resolution: ExpiryResolution::Auto,
        }
    }

    /// Creates the table and its `expires_at` index if they do not exist: the statement in
    /// [`SCHEMA_SQL`](crate::SCHEMA_SQL) for this store's table. A table created by an earlier
    /// release, without the `version` column, gets it (`ALTER TABLE … ADD COLUMN`, existing rows
    /// at version 0, [`Version::LEGACY`]). Safe to run at every start and from several processes
    /// at once; an up-to-date table is left as it is.
    ///
    /// # Errors
    /// [`Error::Backend`](session_core::Error::Backend) when the user may not create or alter tables (apply `schema.sql` by
    /// hand instead, or for an old table `ALTER TABLE sessions ADD COLUMN version BIGINT
    /// UNSIGNED NOT NULL DEFAULT 0`), transient errors when the server is unreachable.
    pub async fn migrate(&self) -> Result<()> {
        let q = &self.queries;
        let create = sqlx::raw_sql(sql(&q.create_table));
        timed::<My, _, _>(self.timeout, create.execute(&self.pool)).await?;
        // MySQL 8 has no `ADD COLUMN IF NOT EXISTS` (MariaDB has), so ask information_schema
        // first, which keeps an up-to-date table free of DDL at every start.
        self.add_column_if_missing("version", &q.add_version_column)
            .await?;
        self.add_column_if_missing("owner", &q.add_owner_column)
            .await?;
        Ok(())
    }

    /// Runs `alter` unless the table has `column` already.
    async fn add_column_if_missing(&self, column: &str, alter: &Arc<str>) -> Result<()> {
        let has: i64 = timed::<My, _, _>(
            self.timeout,
            sqlx::query_scalar(sql(&self.queries.has_column))
                .bind(&*self.queries.table)
                .bind(column)
                .fetch_one(&self.pool),
        )
        .await?;
        if has == 0 {
            timed::<My, _, _>(self.timeout, async {
                match sqlx::raw_sql(sql(alter)).execute(&self.pool).await {
                    // Another process added it between our check and our ALTER.
                    Err(e) if is_duplicate_column(&e) => Ok(()),
                    done => done.map(drop),
                }
            })
            .await?;
        }
        Ok(())
    }
}

session_sql::impl_settings!(MySqlStore, MySqlPool, max_record_bytes: MEDIUMBLOB_MAX_BYTES);
session_sql::impl_row_ops!(MySqlStore, My, version: u64);

#[async_trait]
impl SessionStore for MySqlStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        let max_age = max_age_ms(max_age)?;
        let now = now_ms();
        let q = &self.queries;
        // Both statements are safe to repeat: a touch that ran twice moved the expiry to the same
        // place twice.
        // With a non-zero expiry resolution, a rolling read of a session whose expiry is recent
        // enough is the SELECT alone (nothing to commit); one whose expiry lags takes the exact
        // path below.
        let lazy = rolling && self.expiry_resolution.slack_ms(max_age) > 0;
        let row: Option<(Vec<u8>, u64)> = timed_retry::<My, _, _, _, _>(self.timeout, || async {
            if lazy {
                if let Some(settled) = self.settled_read(key, now, max_age).await? {
                    return Ok(settled);
                }
            }
            if rolling {
                // MySQL has no UPDATE … RETURNING (MariaDB only has DELETE … RETURNING), so a
                // rolling read is two statements. UPDATE first: the conditional UPDATE alone
                // decides whether the session is alive, so a missing or expired session (stale
                // cookies, bots) costs one round trip, and an expired row can never be extended.
                // sqlx sets CLIENT_FOUND_ROWS, so `rows_affected` counts matched rows, even when
                // the new expiry equals the old one. A transaction (BEGIN, SELECT … FOR UPDATE,
                // UPDATE, COMMIT) would cost four round trips for no guarantee the contract needs:
                // a destroy landing between the two statements makes this read return `None`,
                // exactly as if it had come after the destroy.
                let touched = sqlx::query(sql(&q.touch))
                    .bind(now.saturating_add(max_age))
                    .bind(key.as_str())
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                if touched.rows_affected() == 0 {
                    return Ok(None);
                }
            }
            self.select_row(key, now).await
        })
        .await?;
        match row {
            None => Ok(None),
            Some((bytes, version)) => loaded_row(&bytes, Version::from_u64(version), now),
        }
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        // now + max_age, or the end of the session's absolute lifetime when that comes first.
        let expires_at = write_expiry(data, max_age)?;
        let version = Version::generate();
        // Encoding enforces the size limit before any I/O.
        let bytes = encode(data, version, expires_at, self.max_record_bytes)?;
        let owner = owner_index(data)?;
        timed_retry::<My, _, _, _, _>(self.timeout, || {
            sqlx::query(sql(&self.queries.upsert))
                .bind(key.as_str())
                .bind(bytes.as_slice())
                .bind(expires_at)
                .bind(version.as_u64())
                .bind(owner.as_ref().map(OwnerIndex::as_str))
                .execute(&self.pool)
        })
        .await?;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let now = now_ms();
        let expires_at = write_expiry(data, max_age)?;
        let version = Version::generate();
        let bytes = encode(data, version, expires_at, self.max_record_bytes)?;
        let owner = owner_index(data)?;
        let expected = expected.as_u64();
        // Safe to repeat after a lock conflict: a rolled-back attempt changed nothing.
        let done = timed_retry::<My, _, _, _, _>(self.timeout, || {
            sqlx::query(sql(&self.queries.write_if))
                .bind(expected)
                .bind(bytes.as_slice())
                .bind(expected)
                .bind(expires_at)
                .bind(expected)
                .bind(owner.as_ref().map(OwnerIndex::as_str))
                .bind(expected)
                .bind(version.as_u64())
                .bind(key.as_str())
                .bind(now)
                .execute(&self.pool)
        })
        .await?;
        Ok(if done.rows_affected() == 0 {
            WriteOutcome::Missing
        } else if done.last_insert_id() == version.as_u64() {
            WriteOutcome::Written(version)
        } else {
            WriteOutcome::Conflict
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        self.touch_row(key, max_age).await
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.delete_row(key).await
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        self.owned_rows(owner).await
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        self.delete_owned_rows(owner, keep).await
    }

    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        self.scan_page(cursor, page_size).await
    }

    async fn purge_expired(&self, limit: u32) -> Result<u64> {
        self.cleanup_one_batch(limit).await
    }

    fn info(&self) -> StoreInfo {
        let options = self.pool.connect_options();
        StoreInfo::new("mysql").with_server(options.get_host(), Some(options.get_port()))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::mysql::MySqlPoolOptions;

    use super::*;

    fn lazy(url: &str) -> MySqlStore {
        let pool = MySqlPoolOptions::new().connect_lazy(url).unwrap();
        MySqlStore::new(pool)
    }

    // Port 1 answers nothing.
    session_sql::settings_tests!(lazy("mysql://root@127.0.0.1:1/test"), MEDIUMBLOB_MAX_BYTES);
    session_sql::url_tests!(
        MySqlStore,
        lazy,
        "mysql://app:s3cr3t-pw@127.0.0.1:1/db",
        [
            "mysql://app:s3cr3t-pw@127.0.0.1:notaport/db",
            "mysql://app:s3cr3t-pw@[::1/db",
            "mysql://app:s3cr3t-pw@host/db?ssl-mode=sometimes",
        ]
    );
}
