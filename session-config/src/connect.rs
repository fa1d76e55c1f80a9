//! Turning a [`StoreConfig`] into a running store.

use std::sync::Arc;

use session_core::SessionStore;

use crate::redact::withhold_secrets;
#[cfg(any(
    feature = "memory",
    feature = "redis",
    feature = "mongo",
    feature = "mysql",
    feature = "postgres",
    feature = "sqlite"
))]
use crate::{Backend, scheme};
use crate::{ConfigError, StoreConfig};

/// The environment variable [`connect_from_env`] reads.
pub const STORE_URL_ENV: &str = "SESSION_STORE_URL";

/// Opens the store `config` describes.
///
/// Network backends connect (and, for MongoDB and the SQL stores, ensure their index or table) before
/// this returns, so a wrong host or password fails at start-up rather than on the first request.
///
/// # Errors
/// [`ConfigError::FeatureDisabled`] when the backend's cargo feature is off;
/// [`ConfigError::UnsupportedOption`] for a timeout on a memory store;
/// [`ConfigError::Store`] when the store cannot be opened (the inner
/// [`session_core::Error::is_transient`] tells an unreachable server from a bad configuration).
pub async fn connect(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, ConfigError> {
    let backend = config.backend();
    open(config).await.map_err(|e| match e {
        ConfigError::Store(e) => {
            ConfigError::Store(withhold_secrets(e, backend.name(), backend.urls()))
        }
        other => other,
    })
}

async fn open(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, ConfigError> {
    #[allow(unused_variables)] // with no backend feature on, every arm is the last one
    let options = config.options();
    match config.backend() {
        #[cfg(feature = "memory")]
        Backend::Memory { max_bytes } => scheme::memory::connect(*max_bytes, options),
        #[cfg(feature = "redis")]
        Backend::Redis { url, prefix } => {
            scheme::redis::connect(url, prefix.as_deref(), options).await
        }
        #[cfg(feature = "redis")]
        Backend::RedisCluster { nodes, prefix } => {
            scheme::redis::connect_cluster(nodes, prefix.as_deref(), options).await
        }
        #[cfg(feature = "redis")]
        Backend::RedisSentinel {
            sentinels,
            master,
            node,
            prefix,
        } => {
            scheme::redis::connect_sentinel(sentinels, master, node, prefix.as_deref(), options)
                .await
        }
        #[cfg(feature = "mongo")]
        Backend::Mongo {
            url,
            database,
            collection,
        } => scheme::mongo::connect(url, database, collection.as_deref(), options).await,
        #[cfg(feature = "mysql")]
        Backend::MySql {
            url,
            table,
            migrate,
            cleanup_interval,
        } => {
            scheme::mysql::connect(url, table.as_deref(), *migrate, *cleanup_interval, options)
                .await
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres {
            url,
            table,
            migrate,
            unlogged,
            cleanup_interval,
        } => {
            let sql = scheme::sql::SqlOptions {
                table: table.clone(),
                migrate: *migrate,
                cleanup_interval: *cleanup_interval,
            };
            scheme::postgres::connect(url, sql, *unlogged, options).await
        }
        #[cfg(feature = "sqlite")]
        Backend::Sqlite {
            url,
            table,
            migrate,
            cleanup_interval,
            busy_timeout,
        } => {
            let sql = scheme::sql::SqlOptions {
                table: table.clone(),
                migrate: *migrate,
                cleanup_interval: *cleanup_interval,
            };
            scheme::sqlite::connect(url, sql, *busy_timeout, options).await
        }
        #[allow(unreachable_patterns)] // with every backend feature on
        other => Err(ConfigError::FeatureDisabled {
            scheme: other.name().to_owned(),
            feature: other.feature(),
        }),
    }
}

/// Opens the store named by the `SESSION_STORE_URL` environment variable, or an in-memory
/// store when it is unset or empty.
///
/// # Errors
/// As [`StoreConfig::from_url`] and [`connect`], plus [`ConfigError::EnvNotUnicode`].
pub async fn connect_from_env() -> Result<Arc<dyn SessionStore>, ConfigError> {
    connect(&config_from_env()?).await
}

/// The configuration `SESSION_STORE_URL` describes (memory when unset or empty).
///
/// # Errors
/// As [`StoreConfig::from_url`], plus [`ConfigError::EnvNotUnicode`].
pub fn config_from_env() -> Result<StoreConfig, ConfigError> {
    match std::env::var(STORE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => StoreConfig::from_url(&url),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(StoreConfig::default()),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::EnvNotUnicode),
    }
}

#[cfg(all(test, any(feature = "mongo", not(feature = "memory"))))]
mod tests {
    use super::*;

    /// The MongoDB driver quotes a malformed `authMechanismProperties` in its error.
    #[cfg(feature = "mongo")]
    #[tokio::test]
    async fn a_driver_error_quoting_a_secret_option_is_withheld() {
        let config =
            StoreConfig::from_url("mongodb://127.0.0.1:1/?authMechanismProperties=hunter2")
                .unwrap();
        let Err(e) = connect(&config).await else {
            panic!("a malformed authMechanismProperties was accepted")
        };
        let shown = format!("{} {e:?}", session_core::error_chain(&e));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            matches!(e, ConfigError::Store(session_core::Error::Config { .. })),
            "{e:?}"
        );
    }

    #[cfg(not(feature = "memory"))]
    #[tokio::test]
    async fn connect_without_the_memory_feature_names_it() {
        assert!(matches!(
            connect(&StoreConfig::default()).await,
            Err(ConfigError::FeatureDisabled {
                feature: "memory",
                ..
            })
        ));
    }
}
