//! The conformance suite once more, with every store built by `session-config` from a URL only:
//! proof that switching backends is a configuration change.
//!
//! Needs the same servers as the per-backend files: `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), `REDIS_CLUSTER_URLS` (comma-separated, default
//! `redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103`), `MONGODB_URL`
//! (default `mongodb://127.0.0.1:27017`), `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`).
//! `bash scripts/test.sh` starts them all. Without a server its tests are skipped with a loud
//! message, or fail under `CI=true`.

use std::sync::Arc;

use integration_tests::conformance::MAX_RECORD_BYTES;
use integration_tests::env_url;
use session_config::{ConfigError, StoreConfig};
use session_core::{Result, SessionStore};

/// Opens the store a URL names. Configuration mistakes are bugs in this file and panic; store
/// errors go back to the harness, which skips (or fails under CI) when the server is down.
async fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(url).unwrap_or_else(|e| panic!("{e}"));
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    }
}

/// `base` without a trailing slash or query, for appending a path and our options.
fn base(var: &str, default: &str) -> String {
    let url = env_url(var, default);
    let url = url.split('?').next().unwrap_or_default();
    url.trim_end_matches('/').to_owned()
}

async fn memory(_namespace: String) -> Result<Arc<dyn SessionStore>> {
    open(&format!("memory://?max_record_bytes={MAX_RECORD_BYTES}")).await
}

async fn redis(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let base = base("REDIS_URL", "redis://127.0.0.1:6379");
    open(&format!(
        "{base}/?prefix={namespace}:&max_record_bytes={MAX_RECORD_BYTES}"
    ))
    .await
}

async fn redis_cluster(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let nodes = env_url(
        "REDIS_CLUSTER_URLS",
        "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103",
    );
    let hosts: Vec<&str> = nodes
        .split(',')
        .map(|n| {
            n.trim()
                .trim_start_matches("redis://")
                .trim_end_matches('/')
        })
        .collect();
    open(&format!(
        "redis+cluster://{}/?prefix={namespace}:&max_record_bytes={MAX_RECORD_BYTES}",
        hosts.join(",")
    ))
    .await
}

async fn mongo(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let base = base("MONGODB_URL", "mongodb://127.0.0.1:27017");
    // Same database and `r<unix seconds>_` naming as tests/mongo.rs, whose sweep drops stale ones.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    open(&format!(
        "{base}/session_tests?collection=r{stamp}_{namespace}&max_record_bytes={MAX_RECORD_BYTES}"
    ))
    .await
}

async fn mysql(namespace: String) -> Result<Arc<dyn SessionStore>> {
    let base = base("MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    open(&format!(
        "{base}?table={namespace}&cleanup_interval_s=0&max_record_bytes={MAX_RECORD_BYTES}"
    ))
    .await
}

integration_tests::conformance_suite!(config_memory, memory);
integration_tests::conformance_suite!(config_redis, redis);
integration_tests::conformance_suite!(config_redis_cluster, redis_cluster);
integration_tests::conformance_suite!(config_mongo, mongo);
integration_tests::conformance_suite!(config_mysql, mysql);
