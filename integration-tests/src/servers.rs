//! Where the servers are, and what to do when one is missing.

/// The URL in environment variable `var`, or `default` when it is unset or empty. Read at run
/// time, so one test binary runs against any server.
pub fn env_url(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => default.to_owned(),
    }
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

/// The `session-config` URL of a store in `namespace` on `backend` (`memory`, `redis`,
/// `redis_cluster`, `mongo` or `mysql`), built from the environment's server URLs, with `options`
/// added to its query. MongoDB collections are named `r<unix seconds>_<namespace>` in the
/// database `session_tests`, so the sweep in `tests/mongo.rs` can drop stale ones; MySQL's
/// background cleanup is off (tests are short and tables are dropped as stale later).
///
/// # Panics
/// For an unknown backend name.
pub fn store_url(backend: &str, namespace: &str, options: &[(&str, &str)]) -> String {
    // A server URL without its trailing slash or query, ready for a path and our options.
    let base = |var: &str, default: &str| {
        let url = env_url(var, default);
        let url = url.split('?').next().unwrap_or_default();
        url.trim_end_matches('/').to_owned()
    };
    let mut url = match backend {
        "memory" => "memory://?".to_owned(),
        "redis" => format!(
            "{}/?prefix={namespace}:",
            base("REDIS_URL", "redis://127.0.0.1:6379")
        ),
        "redis_cluster" => {
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
            format!("redis+cluster://{}/?prefix={namespace}:", hosts.join(","))
        }
        "mongo" => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!(
                "{}/session_tests?collection=r{stamp}_{namespace}",
                base("MONGODB_URL", "mongodb://127.0.0.1:27017")
            )
        }
        "mysql" => format!(
            "{}?table={namespace}&cleanup_interval_s=0",
            base("MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
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
