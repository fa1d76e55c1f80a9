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
