//! `mysql://` and `mariadb://`: a MySQL or MariaDB table, with an optional migration and a
//! cleanup task that lives exactly as long as the store.

use crate::scheme::query::{Query, parse_url, require_host};
use crate::scheme::sql::{OWN, SqlOptions};
use crate::{Backend, ConfigError, StoreConfig};

/// The scheme sqlx reads.
pub(crate) const SCHEME: &str = "mysql";
/// Accepted as a friendlier alias, and rewritten to [`SCHEME`] for sqlx.
pub(crate) const MARIADB_SCHEME: &str = "mariadb";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "mysql";
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
    let mut q = Query::split(&url, &OWN);
    q.only_driver_options(BACKEND, &DRIVER_OPTIONS)?;
    let options = q.common()?;
    let sql = SqlOptions::take(&mut q)?;
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
        table: sql.table,
        migrate: sql.migrate,
        cleanup_interval: sql.cleanup_interval,
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
    use session_mysql::MySqlStore;

    use crate::redact::Secret;
    use crate::scheme::sql::{SqlOptions, configure_sql_store, finish_sql_store};
    use crate::{CommonOptions, ConfigError};

    /// Opens the store, creates its table when `migrate`, and starts the cleanup task.
    pub(crate) async fn connect(
        url: &Secret,
        table: Option<&str>,
        migrate: bool,
        cleanup_interval: Option<Duration>,
        options: &CommonOptions,
    ) -> std::result::Result<Arc<dyn SessionStore>, ConfigError> {
        let store = MySqlStore::connect(url.expose()).await?;
        if options.format == crate::StoreFormat::Express {
            // express-mysql-session's table; the Node app's own cleanup deletes expired rows.
            let store = configure_sql_store!(store, table, options);
            let mut node = session_mysql::ExpressMySqlStore::new(&store);
            node = node.with_table_name(table.unwrap_or(session_mysql::EXPRESS_MYSQL_TABLE))?;
            if migrate {
                node.migrate().await?;
            }
            return Ok(Arc::new(node));
        }
        let sql = SqlOptions {
            table: table.map(str::to_owned),
            migrate,
            cleanup_interval,
        };
        finish_sql_store!(store, sql, options)
    }
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
        // The table, migration and cleanup options: scheme::sql's tests.
        let Backend::MySql { url, .. } = c.backend() else {
            panic!("{c:?}")
        };
        assert_eq!(
            url.expose(),
            "mysql://root:pw@127.0.0.1:3306/test?ssl-mode=disabled"
        );
    }

    #[test]
    fn a_url_without_a_host_is_malformed() {
        assert_each_refused(&["mysql:///db"], malformed);
    }

    #[cfg(not(feature = "mysql"))]
    #[tokio::test]
    async fn connect_without_the_mysql_feature_names_it() {
        assert_needs_feature(&["mysql://127.0.0.1:3306/x"], "mysql").await;
    }
}
