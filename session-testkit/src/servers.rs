//! Where the servers are, and what to do when one is missing.

use session_core::{Result, error_chain};

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const DEFAULT_REDIS_CLUSTER_URLS: &str =
    "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103";
const DEFAULT_REDIS_REPLICATED_CLUSTER_URLS: &str = "redis://127.0.0.1:7201,redis://127.0.0.1:7202,\
     redis://127.0.0.1:7203,redis://127.0.0.1:7204,redis://127.0.0.1:7205,redis://127.0.0.1:7206";
const DEFAULT_REDIS_SENTINEL_URL: &str =
    "redis+sentinel://127.0.0.1:26380,127.0.0.1:26381,127.0.0.1:26382/sessions";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
const DEFAULT_MONGODB_URL: &str = "mongodb://127.0.0.1:27017";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The URL in environment variable `var`, or `default` when it is unset or empty. Read at run
/// time, so one test binary runs against any server.
pub fn env_url(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => default.to_owned(),
    }
}

/// `REDIS_URL`, default `redis://127.0.0.1:6379`: a single Redis node.
pub fn redis_url() -> String {
    env_url("REDIS_URL", DEFAULT_REDIS_URL)
}

/// `REDIS_CLUSTER_URLS`, comma-separated, default the nodes on ports 7101–7103: any nodes of a
/// Redis Cluster.
pub fn redis_cluster_urls() -> Vec<String> {
    url_list("REDIS_CLUSTER_URLS", DEFAULT_REDIS_CLUSTER_URLS)
}

/// `REDIS_REPLICATED_CLUSTER_URLS`, comma-separated, default the nodes on ports 7201–7206: any
/// nodes of a Redis Cluster whose primaries have replicas.
pub fn redis_replicated_cluster_urls() -> Vec<String> {
    url_list(
        "REDIS_REPLICATED_CLUSTER_URLS",
        DEFAULT_REDIS_REPLICATED_CLUSTER_URLS,
    )
}

/// `REDIS_SENTINEL_URL`, default the `sessions` master behind the sentinels on ports
/// 26380–26382: a `session-config` `redis+sentinel://` URL without options.
pub fn redis_sentinel_url() -> String {
    env_url("REDIS_SENTINEL_URL", DEFAULT_REDIS_SENTINEL_URL)
}

fn url_list(var: &str, default: &str) -> Vec<String> {
    env_url(var, default)
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`: MySQL 8 or MariaDB, as a user that
/// may create and drop tables.
pub fn mysql_url() -> String {
    env_url("MYSQL_URL", DEFAULT_MYSQL_URL)
}

/// `MONGODB_URL`, default `mongodb://127.0.0.1:27017`: a MongoDB-compatible server.
pub fn mongodb_url() -> String {
    env_url("MONGODB_URL", DEFAULT_MONGODB_URL)
}

/// `POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`: PostgreSQL, as a role that
/// may create and drop tables.
pub fn postgres_url() -> String {
    env_url("POSTGRES_URL", DEFAULT_POSTGRES_URL)
}

/// The longest table name the PostgreSQL store accepts (`session_postgres`' limit).
const POSTGRES_MAX_TABLE: usize = 55;

/// `name` (from [`unique_name`](crate::unique_name), up to 64 characters) shortened to `max`
/// characters by cutting its tag and keeping its unique suffix: for backends with shorter names
/// than MySQL's.
pub fn fit_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    // `t_<tag>_<8 hex>`: keep the `_<8 hex>` suffix.
    let suffix = &name[name.len().saturating_sub(9)..];
    let head: String = name
        .chars()
        .take(max.saturating_sub(suffix.len()))
        .collect();
    format!("{head}{suffix}")
}

/// The SQLite database file for `namespace`: `<temp dir>/session-tests-sqlite/<namespace>.db`,
/// its directory created. Files older than a run are removed by `integration-tests/tests/sqlite.rs`.
pub fn sqlite_file(namespace: &str) -> std::path::PathBuf {
    let dir = sqlite_dir();
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{namespace}.db"))
}

/// The directory of [`sqlite_file`]'s files.
pub fn sqlite_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("session-tests-sqlite")
}

/// `true` when a missing server must fail the run instead of skipping: `CI=true` (or `1`) or
/// `SESSION_TEST_REQUIRE_ALL=1`.
pub fn require_all() -> bool {
    let set = |var: &str| {
        std::env::var(var)
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false)
    };
    set("CI") || set("SESSION_TEST_REQUIRE_ALL")
}

/// Reports an unreachable server: panics under [`require_all`], otherwise prints a loud
/// message to stderr and returns so the caller can skip.
pub fn unreachable(backend: &str, what: &str, cause: &dyn std::fmt::Display) {
    let message = format!(
        "{backend}: server unreachable ({what}): {cause}. Start it (see integration-tests/README.md) \
         or set its URL variable."
    );
    if require_all() {
        panic!("{message} CI=true / SESSION_TEST_REQUIRE_ALL=1 forbids skipping.");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message}\n");
}

/// `Some(value)` when `built` succeeded; `None` after [`unreachable()`] when it failed with a
/// transient error (the server is down), so the caller can skip.
///
/// # Panics
/// On any other error, and on a transient one under [`require_all`].
pub fn reachable<T>(backend: &str, test: &str, built: Result<T>) -> Option<T> {
    match built {
        Ok(value) => Some(value),
        Err(e) if e.is_transient() => {
            unreachable(backend, test, &error_chain(&e));
            None
        }
        Err(e) => panic!("{backend}: building the store failed: {}", error_chain(&e)),
    }
}

/// The MongoDB collection for `namespace`: `r<unix seconds>_<namespace>`. The stamp lets the
/// sweep in `integration-tests/tests/mongo.rs` drop the collections of earlier runs.
pub fn mongo_collection(namespace: &str) -> String {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("r{stamp}_{namespace}")
}

/// The `session-config` URL of a store in `namespace` on `backend` (`memory`, `redis`,
/// `redis_cluster`, `redis_replicated_cluster`, `redis_sentinel`, `mongo`, `mysql`, `postgres` or `sqlite`), built from the environment's server URLs, with `options`
/// added to its query. MongoDB collections are named by [`mongo_collection`] in the database
/// `session_tests`; MySQL's and PostgreSQL's background cleanup is off (tests are short and tables are dropped
/// as stale later); PostgreSQL tables are named by [`fit_name`]; SQLite gets a file of its own
/// ([`sqlite_file`]).
///
/// # Panics
/// For an unknown backend name.
pub fn store_url(backend: &str, namespace: &str, options: &[(&str, &str)]) -> String {
    // A server URL without its trailing slash or query, ready for a path and our options.
    let base = |url: String| {
        let url = url.split('?').next().unwrap_or_default();
        url.trim_end_matches('/').to_owned()
    };
    let mut url = match backend {
        "memory" => "memory://?".to_owned(),
        "redis" => format!("{}/?prefix={namespace}:", base(redis_url())),
        "redis_sentinel" => format!("{}?prefix={namespace}:", base(redis_sentinel_url())),
        "redis_cluster" | "redis_replicated_cluster" => {
            let nodes = if backend == "redis_cluster" {
                redis_cluster_urls()
            } else {
                redis_replicated_cluster_urls()
            };
            let hosts: Vec<String> = nodes
                .iter()
                .map(|n| {
                    n.trim_start_matches("redis://")
                        .trim_end_matches('/')
                        .to_owned()
                })
                .collect();
            format!("redis+cluster://{}/?prefix={namespace}:", hosts.join(","))
        }
        "mongo" => format!(
            "{}/session_tests?collection={}",
            base(mongodb_url()),
            mongo_collection(namespace)
        ),
        "mysql" => format!(
            "{}?table={namespace}&cleanup_interval_s=0",
            base(mysql_url())
        ),
        "postgres" => format!(
            "{}?table={}&cleanup_interval_s=0",
            base(postgres_url()),
            fit_name(namespace, POSTGRES_MAX_TABLE)
        ),
        "sqlite" => format!(
            "sqlite://{}?cleanup_interval_s=0",
            sqlite_file(namespace).display()
        ),
        other => panic!("unknown backend {other}"),
    };
    for (name, value) in options {
        if !url.ends_with('?') {
            url.push('&');
        }
        url.push_str(name);
        url.push('=');
        url.push_str(value);
    }
    url
}
