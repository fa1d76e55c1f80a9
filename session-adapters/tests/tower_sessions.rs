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
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{CookieChange, cookie_change, live_cookie, open, stored, tampered};
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

/// `GET path` with `cookie`: the body and what happened to the session cookie.
async fn send(app: &Router, path: &str, cookie: Option<&str>) -> (String, CookieChange) {
    let mut request = axum::http::Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::OK, "GET {path}");
    let change = cookie_change(
        COOKIE,
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap()),
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), change)
}

async fn body(app: &Router, path: &str, cookie: &str) -> String {
    send(app, path, Some(cookie)).await.0
}

/// A whole visit: anonymous, log in, count, cycle the id, a forged cookie, log out.
async fn a_visit_logs_in_counts_cycles_and_logs_out(backend: &str) {
    let Some(store) = open(backend, "tower_visit").await else {
        return;
    };
    let app = app(
        store.clone(),
        Expiry::OnInactivity(Duration::minutes(5)),
        false,
    );

    let (who, change) = send(&app, "/whoami", None).await;
    assert_eq!((who.as_str(), change), ("anonymous", CookieChange::None));

    let first = live_cookie(send(&app, "/login", None).await.1, "login");
    assert!(stored(&*store, &first).await);
    assert_eq!(body(&app, "/whoami", &first).await, "alice");
    for expected in 1..=3 {
        assert_eq!(body(&app, "/incr", &first).await, expected.to_string());
    }

    // Cycling the id keeps the data under a new id and removes the old record.
    let second = live_cookie(send(&app, "/cycle", Some(&first)).await.1, "cycle_id");
    assert_ne!(second, first);
    assert!(
        !stored(&*store, &first).await,
        "the old id still has a record"
    );
    assert_eq!(body(&app, "/whoami", &first).await, "anonymous");
    assert_eq!(body(&app, "/incr", &second).await, "4");

    // A forged cookie opens nothing and leaves the real session alone.
    let forged = tampered(&second);
    assert_eq!(body(&app, "/whoami", &forged).await, "anonymous");
    assert_eq!(body(&app, "/incr", &forged).await, "1");
    assert_eq!(body(&app, "/incr", &second).await, "5");
    assert_eq!(body(&app, "/whoami", &second).await, "alice");

    // Logging out removes the cookie and the record, for good.
    let (_, change) = send(&app, "/logout", Some(&second)).await;
    assert_eq!(change, CookieChange::Removed);
    assert!(
        !stored(&*store, &second).await,
        "the record survived logout"
    );
    assert_eq!(body(&app, "/whoami", &second).await, "anonymous");
}

/// With a 1 s inactivity expiry, requests 400 ms apart keep the session for longer than 1 s;
/// 1.4 s without a request end it, on the store's clock as well as the cookie's.
async fn inactivity_ends_the_session(backend: &str) {
    let Some(store) = open(backend, "tower_inactivity").await else {
        return;
    };
    let app = app(
        store.clone(),
        Expiry::OnInactivity(Duration::seconds(1)),
        true,
    );
    let cookie = live_cookie(send(&app, "/login", None).await.1, "login");
    for _ in 0..4 {
        tokio::time::sleep(StdDuration::from_millis(400)).await;
        assert_eq!(body(&app, "/whoami", &cookie).await, "alice");
    }
    tokio::time::sleep(StdDuration::from_millis(1400)).await;
    assert!(
        !stored(&*store, &cookie).await,
        "the store returned an expired session"
    );
    assert_eq!(body(&app, "/whoami", &cookie).await, "anonymous");
}

on_every_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_visit_logs_in_counts_cycles_and_logs_out,
    inactivity_ends_the_session,
);
