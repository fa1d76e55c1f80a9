//! ExpressMySqlStore: a store in a Node format (see its documentation).

use std::fmt;
use std::time::Duration as StdDuration;

use session_core::node::{self, version_of};
use session_core::{
    Duration, Loaded, OwnedSession, Owner, Result, SessionData, SessionKey, SessionStore, Version,
    WriteOutcome, async_trait, max_age_ms, now_ms,
};
use session_sql::timed;
use sqlx::{MySqlPool, Row};

use crate::MySqlStore;
use crate::error::{BACKEND, My};
use crate::queries::validate_table_name;

/// express-mysql-session's table name.
pub const EXPRESS_MYSQL_TABLE: &str = "sessions";

/// express-mysql-session's `expiration` for a cookie without expiry: one day, in seconds.
const DEFAULT_EXPIRATION_SECS: i64 = 86_400;

/// A session store on express-mysql-session's table.
///
/// [`ExpressMySqlStore`]: sessions in express-mysql-session 3's table, so that a Rust service
/// and a running Express app share them (issue 16; the record is express-session's JSON, see
/// `session_core::node`).
///
/// The table is express-mysql-session's: `session_id VARCHAR(128)`, `expires INT UNSIGNED`
/// (epoch **seconds**, `round(cookie.expires / 1000)`), `data MEDIUMTEXT` (utf8mb4_bin). A row is
/// live while `expires >= round(now / 1000)`, as express-mysql-session judges it; a touch moves
/// `expires` only and leaves `data` as it is. A `data` that is not express JSON (a native
/// record) is unreadable: [`Error::Decode`](session_core::Error::Decode), no session.
#[derive(Clone)]
pub struct ExpressMySqlStore {
    pool: MySqlPool,
    table: String,
    timeout: StdDuration,
}

impl fmt::Debug for ExpressMySqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpressMySqlStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// `Math.round(ms / 1000)` for the epochs at hand.
fn seconds(ms: i64) -> i64 {
    (ms + 500).div_euclid(1000)
}

impl ExpressMySqlStore {
    /// A store on `store`'s pool and timeout, table [`EXPRESS_MYSQL_TABLE`].
    pub fn new(store: &MySqlStore) -> Self {
        ExpressMySqlStore {
            pool: store.pool.clone(),
            table: EXPRESS_MYSQL_TABLE.to_owned(),
            timeout: store.timeout,
        }
    }

    /// The table (express-mysql-session's `schema.tableName`).
    ///
    /// # Errors
    /// [`Error::Config`](session_core::Error::Config) for a name that is not a plain identifier.
    pub fn with_table_name(mut self, name: &str) -> Result<Self> {
        validate_table_name(name)?;
        self.table = name.to_owned();
        Ok(self)
    }

    /// Creates the table if it is missing, as express-mysql-session's `createDatabaseTable`
    /// does.
    ///
    /// # Errors
    /// A driver error or [`Error::Timeout`](session_core::Error::Timeout).
    pub async fn migrate(&self) -> Result<()> {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS `{}` (\
             `session_id` varchar(128) COLLATE utf8mb4_bin NOT NULL, \
             `expires` int(11) unsigned NOT NULL, \
             `data` mediumtext COLLATE utf8mb4_bin, \
             PRIMARY KEY (`session_id`)) ENGINE=InnoDB",
            self.table
        );
        timed::<My, _, _>(
            self.timeout,
            sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    /// The row's `data` when it is live.
    async fn live(&self, key: &SessionKey) -> Result<Option<String>> {
        let query = format!(
            "SELECT `data` FROM `{}` WHERE `session_id` = ? AND `expires` >= ?",
            self.table
        );
        let row = timed::<My, _, _>(
            self.timeout,
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(key.as_str())
                .bind(seconds(now_ms()))
                .fetch_optional(&self.pool),
        )
        .await?;
        Ok(row.and_then(|row| row.get::<Option<String>, _>(0)))
    }

    fn encode(data: &SessionData, max_age: Duration) -> Result<(String, i64)> {
        let now = now_ms();
        let record = node::express_encode(data, now, max_age_ms(max_age)?);
        let expires = record
            .expires_ms
            .map_or(seconds(now) + DEFAULT_EXPIRATION_SECS, seconds);
        Ok((record.to_json(), expires))
    }
}

#[async_trait]
impl SessionStore for ExpressMySqlStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        max_age_ms(max_age)?;
        let Some(json) = self.live(key).await? else {
            return Ok(None);
        };
        let data = node::express_decode(json.as_bytes())?;
        if rolling {
            self.touch(key, max_age).await?;
        }
        Ok(Some(Loaded::new(data, version_of(json.as_bytes()))))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let (json, expires) = Self::encode(data, max_age)?;
        let query = format!(
            "INSERT INTO `{}` (`session_id`, `expires`, `data`) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE `expires` = VALUES(`expires`), `data` = VALUES(`data`)",
            self.table
        );
        timed::<My, _, _>(
            self.timeout,
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(key.as_str())
                .bind(expires)
                .bind(json)
                .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        version: Version,
    ) -> Result<WriteOutcome> {
        let Some(old) = self.live(key).await? else {
            return Ok(WriteOutcome::Missing);
        };
        if version_of(old.as_bytes()) != version {
            return Ok(WriteOutcome::Conflict);
        }
        let (json, expires) = Self::encode(data, max_age)?;
        let query = format!(
            "UPDATE `{}` SET `expires` = ?, `data` = ? WHERE `session_id` = ? AND `data` = ?",
            self.table
        );
        let done = timed::<My, _, _>(
            self.timeout,
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(expires)
                .bind(&json)
                .bind(key.as_str())
                .bind(&old)
                .execute(&self.pool),
        )
        .await?;
        if done.rows_affected() == 1 || old == json {
            return Ok(WriteOutcome::Written(version_of(json.as_bytes())));
        }
        Ok(match self.live(key).await? {
            None => WriteOutcome::Missing,
            Some(now) if now == json => WriteOutcome::Written(version_of(json.as_bytes())),
            Some(_) => WriteOutcome::Conflict,
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        let now = now_ms();
        let expires = seconds(now.saturating_add(max_age_ms(max_age)?));
        let query = format!(
            "UPDATE `{}` SET `expires` = ? WHERE `session_id` = ? AND `expires` >= ?",
            self.table
        );
        let done = timed::<My, _, _>(
            self.timeout,
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(expires)
                .bind(key.as_str())
                .bind(seconds(now))
                .execute(&self.pool),
        )
        .await?;
        // An unchanged value affects no row: look whether the row is there.
        Ok(done.rows_affected() > 0 || self.live(key).await?.is_some())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        let query = format!("DELETE FROM `{}` WHERE `session_id` = ?", self.table);
        timed::<My, _, _>(
            self.timeout,
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(key.as_str())
                .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn list_owned(&self, _owner: &Owner) -> Result<Vec<OwnedSession>> {
        Err(node::no_owner_index(BACKEND))
    }

    async fn destroy_owned(&self, _owner: &Owner, _keep: Option<&SessionKey>) -> Result<u64> {
        Err(node::no_owner_index(BACKEND))
    }
}
