//! What the SQL schemes (`mysql://`, `postgres://`, `sqlite://`) share: their table, migration
//! and cleanup options, and a store that owns its background cleanup task.

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
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
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

#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
pub(crate) use self::with_cleanup::WithCleanup;

/// Applies the table and the common options to a SQL store (`MySqlStore`, `PgStore`,
/// `SqliteStore`: they share these method names) and returns it.
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
macro_rules! configure_sql_store {
    ($store:expr, $table:expr, $options:expr) => {{
        let (mut store, table, options): (_, Option<&str>, _) = ($store, $table, $options);
        if let Some(table) = table {
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
        store
    }};
}
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
pub(crate) use configure_sql_store;

/// Finishes opening a SQL store: applies the table and the common options
/// ([`configure_sql_store`]), migrates when asked, starts the cleanup task, and returns the store
/// owning its task as an `Arc<dyn SessionStore>`.
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
macro_rules! finish_sql_store {
    ($store:expr, $sql:expr, $options:expr) => {{
        let (store, sql, options) = ($store, $sql, $options);
        let store = $crate::scheme::sql::configure_sql_store!(store, sql.table.as_deref(), options);
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
#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
pub(crate) use finish_sql_store;

#[cfg(any(feature = "mysql", feature = "postgres", feature = "sqlite"))]
mod with_cleanup {
    use session_core::SessionStore;
    // The same type: session-mysql re-exports session-sql's, and session-sql is a dependency of
    // this crate only with the postgres or sqlite feature.
    #[cfg(not(any(feature = "postgres", feature = "sqlite")))]
    use session_mysql::CleanupTask;
    #[cfg(any(feature = "postgres", feature = "sqlite"))]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::*;
    use crate::{Backend, ConfigError, StoreConfig};

    /// The SQL options of a SQL backend's configuration.
    fn sql_options(c: &StoreConfig) -> SqlOptions {
        match c.backend() {
            Backend::MySql {
                table,
                migrate,
                cleanup_interval,
                ..
            }
            | Backend::Postgres {
                table,
                migrate,
                cleanup_interval,
                ..
            }
            | Backend::Sqlite {
                table,
                migrate,
                cleanup_interval,
                ..
            } => SqlOptions {
                table: table.clone(),
                migrate: *migrate,
                cleanup_interval: *cleanup_interval,
            },
            other => panic!("not a SQL backend: {other:?}"),
        }
    }

    /// A URL of each SQL scheme, to which a query is appended.
    const BASES: [&str; 4] = [
        "mysql://h/db",
        "mariadb://h/db",
        "postgres://h/db",
        "sqlite://s.db",
    ];

    #[test]
    fn by_default_the_table_is_migrated_and_cleaned_every_15_minutes() {
        for base in BASES {
            let c = StoreConfig::from_url(base).unwrap();
            let expected = SqlOptions {
                table: None,
                migrate: true,
                cleanup_interval: Some(Duration::from_secs(15 * 60)),
            };
            assert_eq!(sql_options(&c), expected, "{base}");
        }
    }

    #[test]
    fn the_table_migration_and_cleanup_are_taken_from_the_query() {
        for base in BASES {
            let url = format!("{base}?table=web&migrate=false&cleanup_interval_s=60");
            let c = StoreConfig::from_url(&url).unwrap();
            let expected = SqlOptions {
                table: Some("web".to_owned()),
                migrate: false,
                cleanup_interval: Some(Duration::from_secs(60)),
            };
            assert_eq!(sql_options(&c), expected, "{url}");
            let off = StoreConfig::from_url(&format!("{base}?cleanup_interval_s=0")).unwrap();
            assert_eq!(sql_options(&off).cleanup_interval, None, "{base}");
        }
    }

    #[test]
    fn typos_and_bad_values_are_rejected() {
        for base in BASES {
            let backend = StoreConfig::from_url(base).unwrap().backend().name();
            assert!(
                matches!(
                    StoreConfig::from_url(&format!("{base}?tabel=x")),
                    Err(ConfigError::UnknownOption { backend: b, option })
                        if b == backend && option == "tabel"
                ),
                "{base}"
            );
            assert_each_refused(
                &[
                    &format!("{base}?migrate=maybe"),
                    &format!("{base}?cleanup_interval_s=-5"),
                ],
                invalid_option,
            );
        }
    }
}
