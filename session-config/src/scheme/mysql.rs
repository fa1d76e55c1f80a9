//! `mysql://` and `mariadb://`. MySQL needs a little more than the other backends: an optional
//! migration and a cleanup task that must live exactly as long as the store.

use std::time::Duration;

use crate::scheme::query::{Query, parse_url, require_host};
use crate::{Backend, ConfigError, StoreConfig};

/// The scheme sqlx reads.
pub(crate) const SCHEME: &str = "mysql";
/// Accepted as a friendlier alias, and rewritten to [`SCHEME`] for sqlx.
pub(crate) const MARIADB_SCHEME: &str = "mariadb";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "mysql";
/// Table (`table=`).
pub(crate) const TABLE: &str = "table";
/// Create the table at start-up (`migrate=`).
pub(crate) const MIGRATE: &str = "migrate";
/// Seconds between two runs of the cleanup task (`cleanup_interval_s=`; `0` turns it off).
pub(crate) const CLEANUP_INTERVAL_S: &str = "cleanup_interval_s";
/// The cleanup interval when `cleanup_interval_s` is not given.
pub(crate) const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(900);
/// Query options sqlx's MySQL driver reads from a URL.
const DRIVER_OPTIONS: [&str; 9] = [
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "charset",
    "collation",
    "socket",
    "statement-cache-capacity",
    "timezone",
];

/// Parses a `mysql://` or `mariadb://` URL. `scheme` is the URL's scheme, lower-cased.
pub(crate) fn parse(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let mut url = parse_url(s)?;
    let mut q = Query::split(&url, &[TABLE, MIGRATE, CLEANUP_INTERVAL_S]);
    q.only_driver_options(BACKEND, &DRIVER_OPTIONS)?;
    let options = q.common()?;
    let table = q.take(TABLE)?;
    let migrate = q.take_bool(MIGRATE)?.unwrap_or(true);
    let cleanup_interval = match q.take_number::<u64>(CLEANUP_INTERVAL_S)? {
        None => Some(DEFAULT_CLEANUP_INTERVAL),
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s)),
    };
    require_host(&url)?;
    if scheme == MARIADB_SCHEME {
        // `Url::set_scheme` refuses to turn a non-special scheme into another one, so rewrite
        // the text.
        let rewritten =
            url.as_str()
                .replacen(&format!("{MARIADB_SCHEME}://"), &format!("{SCHEME}://"), 1);
        url = parse_url(&rewritten)?;
    }
    let backend = Backend::MySql {
        url: q.driver_url(url),
        table,
        migrate,
        cleanup_interval,
    };
    Ok(StoreConfig::new(backend, options))
}

#[cfg(feature = "mysql")]
pub(crate) use self::connect::connect;

#[cfg(feature = "mysql")]
mod connect {
    use std::sync::Arc;
    use std::time::Duration;

    use session_core::SessionStore;
    use session_mysql::{CleanupTask, MySqlStore};

    use crate::redact::Secret;
    use crate::{CommonOptions, ConfigError};

    /// Rows deleted per statement by the background cleanup.
    const CLEANUP_BATCH: u32 = 1000;

    /// A [`MySqlStore`] together with its background cleanup task, which stops when the last
    /// handle to the store is dropped.
    #[derive(Debug)]
    struct MySqlWithCleanup {
        store: MySqlStore,
        _cleanup: Option<CleanupTask>,
    }

    /// Opens the store, creates its table when `migrate`, and starts the cleanup task.
    pub(crate) async fn connect(
        url: &Secret,
        table: Option<&str>,
        migrate: bool,
        cleanup_interval: Option<Duration>,
        options: &CommonOptions,
    ) -> std::result::Result<Arc<dyn SessionStore>, ConfigError> {
        let mut store = MySqlStore::connect(url.expose()).await?;
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
        if options.format == crate::StoreFormat::Express {
            // express-mysql-session's table; the Node app's own cleanup deletes expired rows.
            let mut node = session_mysql::ExpressMySqlStore::new(&store);
            node = node.with_table_name(table.unwrap_or(session_mysql::EXPRESS_MYSQL_TABLE))?;
            if migrate {
                node.migrate().await?;
            }
            return Ok(Arc::new(node));
        }
        if migrate {
            store.migrate().await?;
        }
        let cleanup = cleanup_interval.map(|every| store.spawn_cleanup(every, CLEANUP_BATCH));
        Ok(Arc::new(MySqlWithCleanup {
            store,
            _cleanup: cleanup,
        }))
    }

    session_core::delegate_store!(MySqlWithCleanup, |this| this.store);
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::*;

    #[test]
    fn our_options_are_taken_out_and_mariadb_becomes_mysql_for_sqlx() {
        let c = StoreConfig::from_url(
            "mariadb://root:pw@127.0.0.1:3306/test?table=web&migrate=false\
             &cleanup_interval_s=0&ssl-mode=disabled",
        )
        .unwrap();
        let Backend::MySql {
            url,
            table,
            migrate,
            cleanup_interval,
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        assert_eq!(
            url.expose(),
            "mysql://root:pw@127.0.0.1:3306/test?ssl-mode=disabled"
        );
        assert_eq!(table.as_deref(), Some("web"));
        assert!(!migrate);
        assert_eq!(*cleanup_interval, None);
    }

    #[test]
    fn by_default_the_table_is_migrated_and_cleaned_every_15_minutes() {
        let c = StoreConfig::from_url("mysql://h/db").unwrap();
        let Backend::MySql {
            migrate,
            cleanup_interval,
            ..
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        assert!(migrate);
        assert_eq!(*cleanup_interval, Some(Duration::from_secs(15 * 60)));
    }

    #[test]
    fn typos_and_bad_values_are_rejected() {
        assert!(matches!(
            StoreConfig::from_url("mysql://h/db?tabel=x"),
            Err(ConfigError::UnknownOption { backend: "mysql", option }) if option == "tabel"
        ));
        assert_each_refused(
            &[
                "mysql://h/db?migrate=maybe",
                "mysql://h/db?cleanup_interval_s=-5",
            ],
            invalid_option,
        );
        assert!(matches!(
            StoreConfig::from_url("mysql:///db"),
            Err(ConfigError::MalformedUrl { .. })
        ));
    }

    #[cfg(not(feature = "mysql"))]
    #[tokio::test]
    async fn connect_without_the_mysql_feature_names_it() {
        assert_needs_feature(&["mysql://127.0.0.1:3306/x"], "mysql").await;
    }
}
