//! What the SQL schemes (`postgres://`, `sqlite://`) share: their table, migration and cleanup
//! options, and a store that owns its background cleanup task.

use std::time::Duration;

use crate::ConfigError;
use crate::scheme::query::Query;

/// Table (`table=`).
pub(crate) const TABLE: &str = "table";
/// Create the table at start-up (`migrate=`).
pub(crate) const MIGRATE: &str = "migrate";
/// Seconds between two runs of the cleanup task (`cleanup_interval_s=`; `0` turns it off).
pub(crate) const CLEANUP_INTERVAL_S: &str = "cleanup_interval_s";
/// The cleanup interval when `cleanup_interval_s` is not given.
pub(crate) const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(900);
/// Rows deleted per statement by the background cleanup.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) const CLEANUP_BATCH: u32 = 1000;

/// The options every SQL scheme takes, besides the common ones.
pub(crate) const OWN: [&str; 3] = [TABLE, MIGRATE, CLEANUP_INTERVAL_S];

/// A SQL store's table and maintenance settings, as a URL gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SqlOptions {
    pub(crate) table: Option<String>,
    pub(crate) migrate: bool,
    pub(crate) cleanup_interval: Option<Duration>,
}

impl SqlOptions {
    /// Takes `table` (default: the store's), `migrate` (default `true`) and
    /// `cleanup_interval_s` (default 900; `0` is off) from `q`.
    pub(crate) fn take(q: &mut Query) -> Result<SqlOptions, ConfigError> {
        Ok(SqlOptions {
            table: q.take(TABLE)?,
            migrate: q.take_bool(MIGRATE)?.unwrap_or(true),
            cleanup_interval: match q.take_number::<u64>(CLEANUP_INTERVAL_S)? {
                None => Some(DEFAULT_CLEANUP_INTERVAL),
                Some(0) => None,
                Some(s) => Some(Duration::from_secs(s)),
            },
        })
    }
}

#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) use self::with_cleanup::WithCleanup;

/// Finishes opening a SQL store (`PgStore`, `SqliteStore`: they share these method names): applies
/// the table and the common options, migrates when asked, starts the cleanup task, and returns
/// the store owning its task as an `Arc<dyn SessionStore>`.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
macro_rules! finish_sql_store {
    ($store:expr, $sql:expr, $options:expr) => {{
        let (mut store, sql, options) = ($store, $sql, $options);
        if let Some(table) = &sql.table {
            store = store.with_table_name(table)?;
        }
        if let Some(t) = options.timeout {
            store = store.with_timeout(t);
        }
        if let Some(max) = options.max_record_bytes {
            store = store.with_max_record_bytes(max);
        }
        if let Some(r) = options.expiry_resolution {
            store = store.with_expiry_resolution(r);
        }
        if sql.migrate {
            store.migrate().await?;
        }
        let cleanup = sql
            .cleanup_interval
            .map(|every| store.spawn_cleanup(every, $crate::scheme::sql::CLEANUP_BATCH));
        let store: ::std::sync::Arc<dyn ::session_core::SessionStore> =
            ::std::sync::Arc::new($crate::scheme::sql::WithCleanup {
                store,
                _cleanup: cleanup,
            });
        Ok(store)
    }};
}
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) use finish_sql_store;

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod with_cleanup {
    use session_core::SessionStore;
    use session_sql::CleanupTask;

    /// A store together with its background cleanup task, which stops when the last handle to
    /// the store is dropped.
    #[derive(Debug)]
    pub(crate) struct WithCleanup<S> {
        pub(crate) store: S,
        pub(crate) _cleanup: Option<CleanupTask>,
    }

    session_core::delegate_store!(@impl [S: SessionStore] WithCleanup<S>, |this| this.store);
}
