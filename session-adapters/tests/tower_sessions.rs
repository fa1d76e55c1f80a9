//! An axum app with tower-sessions' `SessionManagerLayer` over `TowerSessionsStore`, on every
//! backend through its session-config URL: log in, a counter, id cycling, a tampered cookie,
//! logout, expiry by inactivity.
//!
//! Needs `REDIS_URL`, `REDIS_CLUSTER_URLS`, `MONGODB_URL` and `MYSQL_URL` (defaults on
//! 127.0.0.1; `bash scripts/test.sh` starts the servers). Without a server a test is skipped
//! with a loud message, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{Client, CookieChange, cookie_change, open};
use http_body_util::BodyExt;
use session_adapters::TowerSessionsStore;
use session_core::SessionStore;
use tower::ServiceExt;
use tower_sessions::cookie::{Key, time::Duration};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// tower-sessions' default cookie name.
const COOKIE: &str = "id";

async fn login(session: Session) -> &'static str {
    // Against session fixation: a new id before the session holds a user.
    session.cycle_id().await.unwrap();
    session.insert("user", "alice").await.unwrap();
    "ok"
}

async fn incr(session: Session) -> String {
    let n = session.get::<u64>("n").await.unwrap().unwrap_or(0) + 1;
    session.insert("n", n).await.unwrap();
    n.to_string()
}

async fn whoami(session: Session) -> String {
    let user = session.get::<String>("user").await.unwrap();
    user.unwrap_or_else(|| "anonymous".to_owned())
}

async fn cycle(session: Session) -> &'static str {
    session.cycle_id().await.unwrap();
    "ok"
}

async fn logout(session: Session) -> &'static str {
    session.flush().await.unwrap();
    "ok"
}

/// The app over `store`, with signed cookies and `expiry`; `always_save` makes every request
/// save the session, so that inactivity (not the last change) decides the expiry.
fn app(store: Arc<dyn SessionStore>, expiry: Expiry, always_save: bool) -> Router {
    let layer = SessionManagerLayer::new(TowerSessionsStore::new(store))
        .with_secure(false)
        .with_expiry(expiry)
        .with_always_save(always_save)
        .with_signed(Key::from(&[7; 64]));
    Router::new()
        .route("/login", get(login))
        .route("/incr", get(incr))
        .route("/whoami", get(whoami))
        .route("/cycle", get(cycle))
        .route("/logout", get(logout))
        .layer(layer)
}

/// The app, driven in-process.
struct Tower(Router);

impl Client for Tower {
    async fn send(&self, path: &str, cookie: Option<&str>) -> (String, CookieChange) {
        let mut request = axum::http::Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let request = request.body(Body::empty()).unwrap();
        let response = self.0.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::OK, "GET {path}");
        let set_cookies = response.headers().get_all("set-cookie");
        let change = cookie_change(COOKIE, set_cookies.iter().map(|v| v.to_str().unwrap()));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (String::from_utf8(body.to_vec()).unwrap(), change)
    }
}

/// A whole visit: anonymous, log in, count, `cycle_id`, a forged cookie, log out.
async fn a_visit_logs_in_counts_cycles_and_logs_out(backend: &str) {
    let Some(store) = open(backend, "tower_visit").await else {
        return;
    };
    let expiry = Expiry::OnInactivity(Duration::minutes(5));
    common::a_visit(&Tower(app(store.clone(), expiry, false)), &*store).await;
}

/// With a 1 s inactivity expiry and `always_save`, every request moves the expiry (a save), and
/// 1.4 s without one end the session.
async fn inactivity_ends_the_session(backend: &str) {
    let Some(store) = open(backend, "tower_inactivity").await else {
        return;
    };
    let app = Tower(app(
        store.clone(),
        Expiry::OnInactivity(Duration::seconds(1)),
        true,
    ));
    common::inactivity_ends_the_session(&app, &*store).await;
}

on_every_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_visit_logs_in_counts_cycles_and_logs_out,
    inactivity_ends_the_session,
);
