//! `postgres://` and `postgresql://`: a PostgreSQL table, with an optional migration (logged or
//! `UNLOGGED`) and a cleanup task that lives exactly as long as the store.

use crate::scheme::query::{Query, parse_url, require_host};
use crate::scheme::sql::{OWN, SqlOptions};
use crate::{Backend, ConfigError, StoreConfig};

/// The scheme.
pub(crate) const SCHEME: &str = "postgres";
/// The scheme's longer spelling, which sqlx accepts as well.
pub(crate) const LONG_SCHEME: &str = "postgresql";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "postgres";
/// Create the table `UNLOGGED` when migrating (`unlogged=`, default `false`).
pub(crate) const UNLOGGED: &str = "unlogged";
/// Query options sqlx's PostgreSQL driver reads from a URL.
const DRIVER_OPTIONS: [&str; 7] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "statement-cache-capacity",
];

/// Parses a `postgres://` or `postgresql://` URL.
pub(crate) fn parse(s: &str) -> Result<StoreConfig, ConfigError> {
    let url = parse_url(s)?;
    let mut q = Query::split(&url, &[OWN.as_slice(), &[UNLOGGED]].concat());
    q.only_driver_options(BACKEND, &DRIVER_OPTIONS)?;
    let options = q.common()?;
    let sql = SqlOptions::take(&mut q)?;
    let unlogged = q.take_bool(UNLOGGED)?.unwrap_or(false);
    require_host(&url)?;
    let backend = Backend::Postgres {
        url: q.driver_url(url),
        table: sql.table,
        migrate: sql.migrate,
        unlogged,
        cleanup_interval: sql.cleanup_interval,
    };
    Ok(StoreConfig::new(backend, options))
}

#[cfg(feature = "postgres")]
pub(crate) use self::connect::connect;

#[cfg(feature = "postgres")]
mod connect {
    use std::sync::Arc;

    use session_core::SessionStore;
    use session_postgres::PgStore;

    use crate::redact::Secret;
    use crate::scheme::sql::{SqlOptions, finish_sql_store};
    use crate::{CommonOptions, ConfigError};

    /// Opens the store, creates its table when `migrate`, and starts the cleanup task.
    pub(crate) async fn connect(
        url: &Secret,
        sql: SqlOptions,
        unlogged: bool,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        let store = PgStore::connect(url.expose())
            .await?
            .with_unlogged(unlogged);
        finish_sql_store!(store, sql, options)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::*;

    #[test]
    fn our_options_are_taken_out_and_the_driver_keeps_its_own() {
        let c = StoreConfig::from_url(
            "postgresql://app:pw@127.0.0.1:5432/test?table=web&migrate=false&unlogged=true\
             &cleanup_interval_s=60&sslmode=disable&timeout_ms=250",
        )
        .unwrap();
        // The table, migration and cleanup options: scheme::sql's tests.
        let Backend::Postgres { url, unlogged, .. } = c.backend() else {
            panic!("{c:?}")
        };
        assert_eq!(
            url.expose(),
            "postgresql://app:pw@127.0.0.1:5432/test?sslmode=disable"
        );
        assert!(unlogged);
        assert_eq!(c.options().timeout, Some(Duration::from_millis(250)));
        assert_eq!(c.backend().name(), "postgres");
    }

    #[test]
    fn by_default_the_table_is_logged() {
        let c = StoreConfig::from_url("postgres://h/db").unwrap();
        assert!(matches!(
            c.backend(),
            Backend::Postgres {
                unlogged: false,
                ..
            }
        ));
    }

    #[test]
    fn bad_values_and_missing_hosts_are_rejected() {
        assert_each_refused(&["postgres://h/db?unlogged=sometimes"], invalid_option);
        assert_each_refused(&["postgres:///db"], malformed);
    }

    #[test]
    fn the_password_is_redacted() {
        let c = StoreConfig::from_url("postgres://u:hunter2@h/db?table=t").unwrap();
        for shown in [format!("{c:?}"), c.to_string()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn connect_without_the_postgres_feature_names_it() {
        assert_needs_feature(
            &["postgres://127.0.0.1:5432/x", "postgresql://127.0.0.1/x"],
            "postgres",
        )
        .await;
    }
}
