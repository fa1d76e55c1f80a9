//! Turning a [`StoreConfig`] into a running store.

use std::sync::Arc;

use session_core::SessionStore;

use crate::{Backend, ConfigError, StoreConfig};

/// The environment variable [`connect_from_env`] reads.
pub const STORE_URL_ENV: &str = "SESSION_STORE_URL";

/// Opens the store `config` describes.
///
/// Network backends connect (and, for MongoDB and MySQL, ensure their index or table) before
/// this returns, so a wrong host or password fails at start-up rather than on the first request.
///
/// # Errors
/// [`ConfigError::FeatureDisabled`] when the backend's cargo feature is off;
/// [`ConfigError::Store`] when the store cannot be opened (the inner
/// [`session_core::Error::is_transient`] tells an unreachable server from a bad configuration).
pub async fn connect(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, ConfigError> {
    let options = config.options();
    match config.backend() {
        #[cfg(feature = "memory")]
        Backend::Memory { max_bytes } => {
            let mut builder = session_memory::MemoryStore::builder();
            if let Some(max) = max_bytes {
                builder = builder.max_bytes(*max);
            }
            if let Some(max) = options.max_record_bytes {
                builder = builder.max_record_bytes(max);
            }
            Ok(Arc::new(builder.build()))
        }
        #[cfg(feature = "redis")]
        Backend::Redis { url, prefix } => {
            require_tls_feature([url.expose()])?;
            let store = session_redis::RedisStore::connect(url.expose()).await?;
            Ok(Arc::new(redis_options(store, prefix, options)))
        }
        #[cfg(feature = "redis")]
        Backend::RedisCluster { nodes, prefix } => {
            let nodes: Vec<&str> = nodes.iter().map(|n| n.expose()).collect();
            require_tls_feature(nodes.iter().copied())?;
            let store = session_redis::RedisStore::connect_cluster(&nodes).await?;
            Ok(Arc::new(redis_options(store, prefix, options)))
        }
        #[cfg(feature = "mongo")]
        Backend::Mongo {
            url,
            database,
            collection,
        } => {
            let collection = collection
                .as_deref()
                .unwrap_or(session_mongo::DEFAULT_COLLECTION);
            let mut store =
                session_mongo::MongoStore::connect(url.expose(), database, collection).await?;
            if let Some(t) = options.timeout {
                store = store.with_timeout(t);
            }
            if let Some(max) = options.max_record_bytes {
                store = store.with_max_record_bytes(max);
            }
            Ok(Arc::new(store))
        }
        #[cfg(feature = "mysql")]
        Backend::MySql {
            url,
            table,
            migrate,
            cleanup_interval,
        } => {
            crate::mysql::open(
                url.expose(),
                table.as_deref(),
                *migrate,
                *cleanup_interval,
                options,
            )
            .await
        }
        #[allow(unreachable_patterns)]
        other => Err(ConfigError::FeatureDisabled {
            scheme: other.name().to_owned(),
            feature: feature_of(other),
        }),
    }
}

#[allow(dead_code)]
fn feature_of(backend: &Backend) -> &'static str {
    match backend {
        Backend::Memory { .. } => "memory",
        Backend::Redis { .. } | Backend::RedisCluster { .. } => "redis",
        Backend::Mongo { .. } => "mongo",
        Backend::MySql { .. } => "mysql",
    }
}

/// `rediss://` needs the `redis-tls` feature; say so instead of letting the driver fail with a
/// less helpful message at connect time.
#[cfg(feature = "redis")]
fn require_tls_feature<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let wants_tls = urls.into_iter().any(|u| u.starts_with("rediss://"));
    if wants_tls && !cfg!(feature = "redis-tls") {
        return Err(ConfigError::FeatureDisabled {
            scheme: "rediss".to_owned(),
            feature: "redis-tls",
        });
    }
    Ok(())
}

#[cfg(feature = "redis")]
fn redis_options(
    mut store: session_redis::RedisStore,
    prefix: &Option<String>,
    options: &crate::CommonOptions,
) -> session_redis::RedisStore {
    if let Some(p) = prefix {
        store = store.with_prefix(p.clone());
    }
    if let Some(t) = options.timeout {
        store = store.with_timeout(t);
    }
    if let Some(max) = options.max_record_bytes {
        store = store.with_max_record_bytes(max);
    }
    store
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
