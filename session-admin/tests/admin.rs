//! `session-admin` end to end, the built binary against real servers: sessions are created
//! through the middleware, then counted, listed, inspected and ended with the tool, and checked
//! gone; expired MySQL rows are purged; bad URLs, unknown handles and unreachable servers give a
//! clear message and their documented exit code.
//!
//! Needs the servers `scripts/test.sh` starts (`REDIS_URL`, `REDIS_CLUSTER_URLS`, `MYSQL_URL`,
//! `POSTGRES_URL`, `MONGODB_URL`); an unreachable server fails the run under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::process::Output;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, header};
use session_config::{ConfigError, StoreConfig};
use session_core::{Duration, Result, SessionStore};
use session_testkit::{reachable, store_url, unique_name};
use session_tower::{Session, SessionLayer};
use tower::ServiceExt as _;

/// Runs the tool with `args`; its output.
fn admin(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_session-admin"))
        .args(args)
        .env_remove("SESSION_STORE_URL")
        .output()
        .unwrap()
}

/// Runs the tool on `url` with `args` and `--json`, expects success, and parses stdout.
fn admin_json(url: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--store", url, "--json"];
    all.extend_from_slice(args);
    let out = admin(&all);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(url).unwrap();
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    }
}

fn app(store: Arc<dyn SessionStore>, max_age: Duration) -> Router {
    Router::new()
        .route(
            "/login/{user}",
            get(|session: Session, Path(user): Path<String>| async move {
                session.regenerate().await.unwrap();
                session
                    .insert("cart", format!("cart-of-{user}"))
                    .await
                    .unwrap();
                session
                    .set_owner(&user, [("ua", "admin test")])
                    .await
                    .unwrap();
                "ok"
            }),
        )
        .layer(SessionLayer::unsigned(store).with_max_age(max_age).unwrap())
}

/// Logs `user` in; the cookie's id.
async fn log_in(app: &Router, user: &str) -> String {
    let response = app
        .clone()
        .oneshot(
            Request::get(format!("/login/{user}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    value.split('.').next().unwrap().to_owned()
}

/// Three sessions of alice and two of bob through the middleware; then the tool counts them,
/// lists and inspects alice's, ends hers, and finds only bob's left.
async fn count_list_inspect_end(backend: &str) {
    let namespace = unique_name("admin");
    let url = store_url(backend, &namespace, &[]);
    let Some(store) = reachable(backend, "admin", open(&url).await) else {
        return;
    };
    let app = app(store, Duration::hours(1));
    let mut ids = Vec::new();
    for user in ["alice", "alice", "alice", "bob", "bob"] {
        ids.push(log_in(&app, user).await);
    }

    assert_eq!(admin_json(&url, &["count"])["count"], 5, "{backend}");
    // Pages of two: the cursor is followed to the end.
    assert_eq!(
        admin_json(&url, &["--page-size", "2", "count"])["count"],
        5,
        "{backend}"
    );
    let all = admin_json(&url, &["list"]);
    assert_eq!(all.as_array().unwrap().len(), 5, "{backend}: {all}");
    let alices = admin_json(&url, &["list", "--owner", "alice"]);
    let alices = alices.as_array().unwrap();
    assert_eq!(alices.len(), 3, "{backend}: {alices:?}");
    assert_eq!(alices[0]["meta"]["ua"], "admin test");

    let handle = alices[0]["handle"].as_str().unwrap();
    let out = admin(&["--store", &url, "inspect", handle]);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{backend}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("cart-of-alice"), "{backend}: {shown}");
    assert!(shown.contains("id redacted"), "{backend}: {shown}");
    let everything = format!("{shown}{}{all}", String::from_utf8_lossy(&out.stderr));
    for id in &ids {
        assert!(
            !everything.contains(id.as_str()),
            "{backend}: a session id was printed"
        );
    }

    let ended = admin_json(&url, &["end-user", "alice"]);
    assert_eq!(ended["ended"], 3, "{backend}: {ended}");
    assert_eq!(
        admin_json(&url, &["list", "--owner", "alice"]),
        serde_json::json!([])
    );
    assert_eq!(
        admin_json(&url, &["list", "--owner", "bob"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(admin_json(&url, &["count"])["count"], 2, "{backend}");

    let gone = admin(&["--store", &url, "inspect", handle]);
    assert_eq!(gone.status.code(), Some(4), "{backend}");
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("no session with handle"),
        "{backend}: {}",
        String::from_utf8_lossy(&gone.stderr)
    );
    admin_json(&url, &["end-user", "bob"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_redis() {
    count_list_inspect_end("redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_redis_cluster() {
    count_list_inspect_end("redis_cluster").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_mysql() {
    count_list_inspect_end("mysql").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_postgres() {
    count_list_inspect_end("postgres").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_sqlite() {
    count_list_inspect_end("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn count_list_inspect_end_on_mongo() {
    count_list_inspect_end("mongo").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_expired_removes_expired_mysql_rows_in_batches() {
    let url = store_url("mysql", &unique_name("purge"), &[]);
    let Some(store) = reachable("mysql", "purge", open(&url).await) else {
        return;
    };
    let short = app(Arc::clone(&store), Duration::seconds(1));
    for i in 0..7 {
        log_in(&short, &format!("user{i}")).await;
    }
    let kept = app(store, Duration::hours(1));
    log_in(&kept, "keeper").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;

    // Stderr is no terminal here: a plain line per batch of three.
    let out = admin(&["--store", &url, "--json", "purge-expired", "--batch", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["purged"], 7, "{result}");
    let progress = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(progress.lines().count(), 3, "{progress}");
    assert!(progress.contains("purged 3 (total 3)"), "{progress}");
    assert_eq!(admin_json(&url, &["count"])["count"], 1);
    assert_eq!(admin_json(&url, &["purge-expired"])["purged"], 0);
}

#[test]
fn bad_urls_and_handles_give_a_clear_message_and_their_exit_code() {
    let bad_scheme = admin(&["--store", "bogus://somewhere", "count"]);
    assert_eq!(bad_scheme.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad_scheme.stderr).contains("bad store URL"));

    let bad_option = admin(&[
        "--store",
        "redis://127.0.0.1:6379/?no_such_option=1",
        "count",
    ]);
    assert_eq!(bad_option.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad_option.stderr).contains("no_such_option"));

    // A port nothing listens on: unreachable, not misconfigured.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = admin(&[
        "--store",
        &format!("redis://user:hunter2@127.0.0.1:{closed}/"),
        "count",
    ]);
    assert_eq!(unreachable.status.code(), Some(1));
    let message = String::from_utf8_lossy(&unreachable.stderr);
    assert!(message.contains("cannot reach the store"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let malformed = admin(&["--store", "memory://", "inspect", "not a handle!"]);
    assert_eq!(malformed.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("not a session handle"));

    let missing_command = admin(&["--store", "memory://"]);
    assert_eq!(missing_command.status.code(), Some(2));
}

#[test]
fn purge_on_a_store_that_expires_records_itself_is_unsupported() {
    let out = admin(&["--store", "memory://", "purge-expired"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not support purge-expired"));
}
