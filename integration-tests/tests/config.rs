//! The conformance suite once more, with every store built by `session-config` from a URL only:
//! proof that switching backends is a configuration change.
//!
//! Needs the same servers as the per-backend files: `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), `REDIS_CLUSTER_URLS` (comma-separated, default
//! `redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103`),
//! `REDIS_SENTINEL_URL` (default `redis+sentinel://127.0.0.1:26380,127.0.0.1:26381,127.0.0.1:26382/sessions`),
//! `REDIS_REPLICATED_CLUSTER_URLS` (default the 3 primaries and 3 replicas on 7201–7206), `MONGODB_URL`
//! (default `mongodb://127.0.0.1:27017`), `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`),
//! `POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); SQLite needs no server.
//! `bash scripts/test.sh` starts them all. Without a server its tests are skipped with a loud
//! message, or fail under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;

use session_config::{ConfigError, StoreConfig};
use session_core::{Result, SessionStore};
use session_testkit::conformance::MAX_RECORD_BYTES;
use session_testkit::store_url;

/// Opens the store a URL names. Configuration mistakes are bugs in this file and panic; store
/// errors go back to the harness, which skips (or fails under CI) when the server is down.
async fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(url).unwrap();
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    }
}

/// The store `backend` in `namespace`, from its URL alone, with the suite's record size limit.
async fn from_url(backend: &str, namespace: &str) -> Result<Arc<dyn SessionStore>> {
    let limit = MAX_RECORD_BYTES.to_string();
    open(&store_url(
        backend,
        namespace,
        &[("max_record_bytes", &limit)],
    ))
    .await
}

async fn memory(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("memory", &namespace).await
}

async fn redis(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("redis", &namespace).await
}

async fn redis_cluster(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("redis_cluster", &namespace).await
}

async fn redis_sentinel(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("redis_sentinel", &namespace).await
}

async fn redis_replicated_cluster(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("redis_replicated_cluster", &namespace).await
}

async fn mongo(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("mongo", &namespace).await
}

async fn mysql(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("mysql", &namespace).await
}

session_testkit::conformance_suite!(config_memory, memory);
session_testkit::conformance_suite!(config_redis, redis);
session_testkit::conformance_suite!(config_redis_cluster, redis_cluster);
session_testkit::conformance_suite!(config_redis_sentinel, redis_sentinel);
session_testkit::conformance_suite!(config_redis_replicated_cluster, redis_replicated_cluster);
session_testkit::conformance_suite!(config_mongo, mongo);
session_testkit::conformance_suite!(config_mysql, mysql);

async fn postgres(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("postgres", &namespace).await
}

async fn sqlite(namespace: String) -> Result<Arc<dyn SessionStore>> {
    from_url("sqlite", &namespace).await
}

session_testkit::conformance_suite!(config_postgres, postgres);
session_testkit::conformance_suite!(config_sqlite, sqlite);
