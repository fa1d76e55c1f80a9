//! Concurrent requests on one session, through the middleware behind a real HTTP server, on
//! every backend: disjoint writes all survive, strict increments are never lost, and a logout
//! wins over a slower request that was still writing.
//!
//! Needs the servers of the per-backend files (`REDIS_URL`, `REDIS_CLUSTER_URLS`,
//! `MONGODB_URL`, `MYSQL_URL`; `bash scripts/test.sh` starts them). Without a server a test is
//! skipped with a loud message, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use http::StatusCode;
use session_config::{ConfigError, StoreConfig};
use session_core::{Result, SessionStore};
use session_testkit::{reachable, store_url, unique_name};
use session_tower::{KeyRing, Session, SessionError, SessionLayer};

/// Opens the store `backend` in a fresh namespace, from its URL.
async fn open(backend: &str, test: &str) -> Result<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(&store_url(backend, &unique_name(test), &[])).unwrap();
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    }
}

#[derive(serde::Deserialize)]
struct Delay {
    #[serde(default)]
    delay_ms: u64,
}

/// Loads the session, waits `delay_ms` (a slow handler), then sets field `name` to `true`.
async fn write(
    session: Session,
    Path(name): Path<String>,
    Query(delay): Query<Delay>,
) -> std::result::Result<&'static str, SessionError> {
    session.get_value("user").await?;
    tokio::time::sleep(StdDuration::from_millis(delay.delay_ms)).await;
    session.insert(name, true).await?;
    Ok("ok")
}

async fn login(session: Session) -> std::result::Result<&'static str, SessionError> {
    session.regenerate().await?;
    session.insert("user", "alice").await?;
    Ok("ok")
}

async fn logout(session: Session) -> &'static str {
    session.destroy().await;
    "ok"
}

async fn incr(session: Session) -> std::result::Result<String, SessionError> {
    let n = session
        .update("n", |n: Option<u64>| n.unwrap_or(0) + 1)
        .await?;
    Ok(n.to_string())
}

async fn dump(session: Session) -> std::result::Result<String, SessionError> {
    Ok(serde_json::to_string(&session.data().await?).unwrap())
}

/// Serves the app on a free loopback port; returns its base URL.
async fn serve(store: Arc<dyn SessionStore>) -> String {
    let keys = KeyRing::new([b"concurrent-requests-test-signing-key!".to_vec()]).unwrap();
    let app = Router::new()
        .route("/login", get(login))
        .route("/logout", get(logout))
        .route("/write/{name}", get(write))
        .route("/incr", get(incr))
        .route("/dump", get(dump))
        .layer(SessionLayer::new(store, keys));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A browser: one HTTP client sending the session cookie it was given.
#[derive(Clone)]
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Browser {
    /// Logs in and keeps the session cookie.
    async fn logged_in(base: String) -> Self {
        let http = reqwest::Client::new();
        let r = http.get(format!("{base}/login")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        Browser { http, base, cookie }
    }

    /// `GET path` with the cookie; the status, the body, and whether a live cookie came back.
    async fn get(&self, path: &str) -> (StatusCode, String, bool) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let live_cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| !c.to_str().unwrap().contains("Max-Age=0"));
        (r.status(), r.text().await.unwrap(), live_cookie)
    }

    async fn data(&self) -> serde_json::Map<String, serde_json::Value> {
        let (status, body, _) = self.get("/dump").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// A browser logged in to a fresh app over `backend`, or `None` (after a loud message, or a
/// panic under `CI=true`) when its server is down.
async fn logged_in(backend: &str, test: &str) -> Option<Browser> {
    let store = reachable(backend, test, open(backend, test).await)?;
    Some(Browser::logged_in(serve(store).await).await)
}

/// Starts `GET path` in the background: a concurrent request of the same browser.
fn spawn_get(browser: &Browser, path: &str) -> tokio::task::JoinHandle<(StatusCode, String, bool)> {
    let (browser, path) = (browser.clone(), path.to_owned());
    tokio::spawn(async move { browser.get(&path).await })
}

/// A slow request (its handler waits 300 ms before writing `a`) overlapping a fast one writing
/// `b`: both fields are there afterwards, whichever saved last.
async fn a_slow_and_a_fast_write_of_different_fields_both_survive(backend: &str) {
    let Some(browser) = logged_in(backend, "slow_fast").await else {
        return;
    };
    let slow = spawn_get(&browser, "/write/a?delay_ms=300");
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    assert_eq!(browser.get("/write/b").await.0, StatusCode::OK);
    assert_eq!(slow.await.unwrap().0, StatusCode::OK);
    let data = browser.data().await;
    assert_eq!(data.get("a"), Some(&serde_json::json!(true)), "{data:?}");
    assert_eq!(data.get("b"), Some(&serde_json::json!(true)), "{data:?}");
    assert_eq!(data.get("user"), Some(&serde_json::json!("alice")));
}

/// 64 concurrent requests, each writing a field of its own: all 64 fields survive.
async fn sixty_four_concurrent_writes_of_their_own_fields_all_survive(backend: &str) {
    let Some(browser) = logged_in(backend, "sixty_four_fields").await else {
        return;
    };
    let requests = (0..64).map(|i| spawn_get(&browser, &format!("/write/f{i}")));
    for r in futures::future::join_all(requests).await {
        let (status, body, _) = r.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let data = browser.data().await;
    let missing: Vec<usize> = (0..64)
        .filter(|i| data.get(&format!("f{i}")).is_none())
        .collect();
    assert!(missing.is_empty(), "fields lost: {missing:?}");
}

/// 64 concurrent strict increments: the counter ends at exactly 64.
async fn sixty_four_concurrent_strict_increments_count_to_sixty_four(backend: &str) {
    let Some(browser) = logged_in(backend, "sixty_four_incr").await else {
        return;
    };
    let requests = (0..64).map(|_| spawn_get(&browser, "/incr"));
    let mut seen: Vec<u64> = Vec::new();
    for r in futures::future::join_all(requests).await {
        let (status, body, _) = r.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.push(body.parse().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=64).collect::<Vec<u64>>(),
        "each increment saw its own count"
    );
    assert_eq!(browser.data().await.get("n"), Some(&serde_json::json!(64)));
}

/// A logout while a slow writing request is in flight: the session stays logged out, and the
/// slow request's response carries no live session cookie.
async fn a_logout_wins_over_a_slower_writing_request(backend: &str) {
    let Some(browser) = logged_in(backend, "logout_wins").await else {
        return;
    };
    let slow = spawn_get(&browser, "/write/a?delay_ms=300");
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    assert_eq!(browser.get("/logout").await.0, StatusCode::OK);
    let (status, body, live_cookie) = slow.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !live_cookie,
        "the slow request handed out a live session cookie"
    );
    // The old cookie finds no session: logged out for good.
    let data = browser.data().await;
    assert!(data.is_empty(), "the session came back: {data:?}");
}

macro_rules! on_every_backend {
    ($($backend:ident),+) => {$(
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_slow_and_a_fast_write_of_different_fields_both_survive() {
                super::a_slow_and_a_fast_write_of_different_fields_both_survive(stringify!($backend)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sixty_four_concurrent_writes_of_their_own_fields_all_survive() {
                super::sixty_four_concurrent_writes_of_their_own_fields_all_survive(stringify!($backend)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sixty_four_concurrent_strict_increments_count_to_sixty_four() {
                super::sixty_four_concurrent_strict_increments_count_to_sixty_four(stringify!($backend)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_logout_wins_over_a_slower_writing_request() {
                super::a_logout_wins_over_a_slower_writing_request(stringify!($backend)).await;
            }
        }
    )+};
}

on_every_backend!(memory, redis, redis_cluster, mongo, mysql);
