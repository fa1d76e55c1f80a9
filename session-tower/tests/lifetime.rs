//! The absolute lifetime through the middleware: rolling and renew never carry a session past
//! it, regenerate keeps it, a login restarts it, a shortened setting ends older sessions, and the
//! handler cannot forge it. Needs no server.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::routing::get;
use axum::{Extension, Router};
use http::StatusCode;
use session_core::{Duration, LIFETIME_FIELD, Lifetime, SessionStore, now_ms};
use session_memory::MemoryStore;
use session_tower::{Session, SessionError, SessionLayer};

use support::{Browser, NEW, signed, stored_of};

fn status(e: SessionError) -> StatusCode {
    e.status()
}

async fn incr(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    let n: u64 = s.get("n").await.map_err(status)?.unwrap_or(0) + 1;
    s.insert("n", n).await.map_err(status)?;
    Ok(n.to_string())
}

async fn read(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    let n: u64 = s.get("n").await.map_err(status)?.unwrap_or(0);
    Ok(n.to_string())
}

async fn regenerate(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    s.regenerate().await.map_err(status)?;
    Ok("ok")
}

async fn login(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    s.regenerate().await.map_err(status)?;
    s.set_owner("alice", [("ua", "test")])
        .await
        .map_err(status)?;
    Ok("ok")
}

async fn forge(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    let refused = s
        .insert(
            LIFETIME_FIELD,
            serde_json::json!({"created": 0, "until": i64::MAX}),
        )
        .await
        .is_err();
    let removed = s.remove(LIFETIME_FIELD).await.is_err();
    Ok(if refused && removed {
        "refused"
    } else {
        "allowed"
    })
}

fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/incr", get(incr))
        .route("/read", get(read))
        .route("/regenerate", get(regenerate))
        .route("/login", get(login))
        .route("/forge", get(forge))
        .layer(layer)
}

/// The cookie's expiry (the second field of `sid=<id>.<expiry>.<mac>`).
fn cookie_expiry(cookie: &str) -> i64 {
    cookie.split('.').nth(1).unwrap().parse().unwrap()
}

async fn lifetime_of(memory: &MemoryStore, cookie: &str) -> Lifetime {
    let data = memory
        .get(&stored_of(cookie), Duration::hours(1), false)
        .await
        .unwrap()
        .expect("no record");
    Lifetime::from_data(&data).unwrap().unwrap()
}

#[tokio::test]
async fn rolling_never_carries_a_session_past_its_absolute_lifetime() {
    let memory = Arc::new(MemoryStore::new());
    let layer = signed(memory.clone(), &[NEW])
        .with_rolling(true)
        .with_max_age(Duration::hours(1))
        .unwrap()
        .with_absolute_lifetime(Some(Duration::milliseconds(1500)))
        .unwrap();
    let app = app(layer);
    let mut browser = Browser::default();
    assert_eq!(browser.get(&app, "/incr").await.body, "1");
    let started = now_ms();
    let lifetime = lifetime_of(&memory, browser.cookie.as_deref().unwrap()).await;
    assert!(lifetime.until <= started + 1500 && lifetime.until > started - 1000);
    // Active all the time: every request rolls the session, but never past the end.
    while now_ms() < lifetime.until - 200 {
        let r = browser.get(&app, "/read").await;
        assert_eq!(r.body, "1");
        let cookie = browser.cookie.as_deref().unwrap();
        assert!(
            cookie_expiry(cookie) <= lifetime.until,
            "the cookie outlives the absolute lifetime"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(
        browser.get(&app, "/read").await.body,
        "0",
        "an active session lived past its absolute lifetime"
    );
}

#[tokio::test]
async fn regenerate_keeps_the_lifetime_and_a_login_restarts_it() {
    let memory = Arc::new(MemoryStore::new());
    let app = app(signed(memory.clone(), &[NEW]));
    let mut browser = Browser::default();
    browser.get(&app, "/incr").await;
    let first = lifetime_of(&memory, browser.cookie.as_deref().unwrap()).await;
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let before = browser.cookie.clone().unwrap();
    browser.get(&app, "/regenerate").await;
    assert_ne!(browser.cookie.as_deref(), Some(before.as_str()), "a new id");
    assert_eq!(
        lifetime_of(&memory, browser.cookie.as_deref().unwrap()).await,
        first,
        "regenerate moved the absolute lifetime"
    );
    browser.get(&app, "/login").await;
    let after_login = lifetime_of(&memory, browser.cookie.as_deref().unwrap()).await;
    assert!(
        after_login.created > first.created,
        "a login did not restart the lifetime"
    );
    assert_eq!(browser.get(&app, "/read").await.body, "1", "data kept");
}

#[tokio::test]
async fn a_shortened_lifetime_ends_sessions_created_under_the_longer_one() {
    let memory = Arc::new(MemoryStore::new());
    let long = app(signed(memory.clone(), &[NEW]));
    let mut browser = Browser::default();
    browser.get(&long, "/incr").await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let short = app(signed(memory.clone(), &[NEW])
        .with_absolute_lifetime(Some(Duration::milliseconds(200)))
        .unwrap());
    let cookie = browser.cookie.clone().unwrap();
    assert_eq!(browser.get(&short, "/read").await.body, "0");
    assert_eq!(
        browser.cookie, None,
        "the ended session's cookie is dropped"
    );
    let record = memory
        .get(&stored_of(&cookie), Duration::hours(1), false)
        .await
        .unwrap();
    assert_eq!(record, None, "the ended session's record is destroyed");
}

#[tokio::test]
async fn without_an_absolute_lifetime_nothing_is_added_and_handlers_cannot_forge_one() {
    let memory = Arc::new(MemoryStore::new());
    let app = app(signed(memory.clone(), &[NEW])
        .with_absolute_lifetime(None)
        .unwrap());
    let mut browser = Browser::default();
    browser.get(&app, "/incr").await;
    let data = memory
        .get(
            &stored_of(browser.cookie.as_deref().unwrap()),
            Duration::hours(1),
            false,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(data.get_value(LIFETIME_FIELD).is_none());
    assert_eq!(browser.get(&app, "/forge").await.body, "refused");
}
