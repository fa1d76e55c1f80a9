//! `sqlite://path/to/file.db`: a table in an SQLite database file (created when missing), with
//! an optional migration and a cleanup task that lives exactly as long as the store.

use std::time::Duration;

use crate::redact::Secret;
use crate::scheme::query::{Query, parse_query};
use crate::scheme::sql::{OWN, SqlOptions};
use crate::{Backend, ConfigError, StoreConfig};

/// The scheme.
pub(crate) const SCHEME: &str = "sqlite";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "sqlite";
/// How long a writer waits for SQLite's write lock (`busy_timeout_ms=`, default 3000).
pub(crate) const BUSY_TIMEOUT_MS: &str = "busy_timeout_ms";
/// Query options sqlx's SQLite driver reads from a URL.
const DRIVER_OPTIONS: [&str; 4] = ["mode", "cache", "immutable", "vfs"];

/// Parses a `sqlite://` URL. Everything between `sqlite://` and `?` is the file's path, as sqlx
/// reads it (`sqlite://sessions.db` is relative to the working directory,
/// `sqlite:///var/lib/app/sessions.db` absolute, `sqlite://:memory:` in memory), so it is not
/// parsed as a URL's host and path.
pub(crate) fn parse(s: &str) -> Result<StoreConfig, ConfigError> {
    let (base, query) = s.split_once('?').unwrap_or((s, ""));
    let path = base.get(SCHEME.len() + "://".len()..).unwrap_or_default();
    if path.is_empty() {
        return Err(ConfigError::malformed(
            "a sqlite URL needs a file: sqlite://path/to/sessions.db",
        ));
    }
    let mut q = Query::split(
        &parse_query(query)?,
        &[OWN.as_slice(), &[BUSY_TIMEOUT_MS]].concat(),
    );
    q.only_driver_options(BACKEND, &DRIVER_OPTIONS)?;
    let options = q.common()?;
    let sql = SqlOptions::take(&mut q)?;
    let busy_timeout = q
        .take_positive::<u64>(BUSY_TIMEOUT_MS)?
        .map(Duration::from_millis);
    let driver_query = q.driver_query();
    let url = if driver_query.is_empty() {
        format!("{SCHEME}://{path}")
    } else {
        format!("{SCHEME}://{path}?{driver_query}")
    };
    let backend = Backend::Sqlite {
        url: Secret::new(url),
        table: sql.table,
        migrate: sql.migrate,
        cleanup_interval: sql.cleanup_interval,
        busy_timeout,
    };
    Ok(StoreConfig::new(backend, options))
}

#[cfg(feature = "sqlite")]
pub(crate) use self::connect::connect;

#[cfg(feature = "sqlite")]
mod connect {
    use std::sync::Arc;
    use std::time::Duration;

    use session_core::SessionStore;
    use session_sqlite::SqliteStore;

    use crate::redact::Secret;
    use crate::scheme::sql::{SqlOptions, finish_sql_store};
    use crate::{CommonOptions, ConfigError};

    /// Opens the file, creates the table when `migrate`, and starts the cleanup task.
    pub(crate) async fn connect(
        url: &Secret,
        sql: SqlOptions,
        busy_timeout: Option<Duration>,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        let mut connect_options = SqliteStore::options(url.expose())?;
        if let Some(t) = busy_timeout {
            connect_options = connect_options.busy_timeout(t);
        }
        let store = SqliteStore::connect_with(connect_options).await?;
        finish_sql_store!(store, sql, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::*;

    #[test]
    fn the_path_is_kept_as_written_and_our_options_are_taken_out() {
        let c = StoreConfig::from_url(
            "sqlite:///var/lib/app/s.db?table=web&migrate=false&cleanup_interval_s=0\
             &busy_timeout_ms=1500&mode=rwc&timeout_ms=700",
        )
        .unwrap();
        // The table, migration and cleanup options: scheme::sql's tests.
        let Backend::Sqlite {
            url, busy_timeout, ..
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        assert_eq!(url.expose(), "sqlite:///var/lib/app/s.db?mode=rwc");
        assert_eq!(*busy_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.options().timeout, Some(Duration::from_millis(700)));
        assert_eq!(c.backend().name(), "sqlite");

        for (given, kept) in [
            ("sqlite://sessions.db", "sqlite://sessions.db"),
            ("sqlite://data/s.db", "sqlite://data/s.db"),
            ("sqlite://:memory:", "sqlite://:memory:"),
        ] {
            let c = StoreConfig::from_url(given).unwrap();
            let Backend::Sqlite {
                url, busy_timeout, ..
            } = c.backend()
            else {
                panic!("{c:?}")
            };
            assert_eq!(url.expose(), kept);
            assert_eq!(*busy_timeout, None);
        }
    }

    #[test]
    fn bad_busy_timeouts_and_missing_files_are_rejected() {
        assert_each_refused(
            &[
                "sqlite://s.db?busy_timeout_ms=0",
                "sqlite://s.db?busy_timeout_ms=soon",
            ],
            invalid_option,
        );
        assert_each_refused(&["sqlite://", "sqlite://?table=x"], malformed);
    }

    #[cfg(not(feature = "sqlite"))]
    #[tokio::test]
    async fn connect_without_the_sqlite_feature_names_it() {
        assert_needs_feature(&["sqlite://never-created.db"], "sqlite").await;
    }
}
