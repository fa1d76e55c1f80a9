//! Sessions per user through the middleware: login sets the owner, the owner lists their
//! sessions (by handle, never by id), ends one, ends the others. Needs no server.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use axum::{Extension, Router};
use http::StatusCode;
use session_core::{OWNER_FIELD, Owner, SessionStore as _};
use session_memory::MemoryStore;
use session_testkit::{CountingStore, Failure};
use session_tower::{Session, SessionError};

use support::{Browser, NEW, key_of, signed};

fn status(e: SessionError) -> StatusCode {
    e.status()
}

async fn login(
    Extension(s): Extension<Session>,
    Path((user, agent)): Path<(String, String)>,
) -> Result<String, StatusCode> {
    s.regenerate().await.map_err(status)?;
    s.set_owner(&user, [("ua", agent)]).await.map_err(status)?;
    Ok(s.sessions().await.map_err(status)?.len().to_string())
}

async fn login_quietly(
    Extension(s): Extension<Session>,
    Path((user, agent)): Path<(String, String)>,
) -> Result<(), StatusCode> {
    s.regenerate().await.map_err(status)?;
    s.set_owner(&user, [("ua", agent)]).await.map_err(status)
}

async fn list(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    let sessions = s.sessions().await.map_err(status)?;
    Ok(serde_json::to_string(&sessions).unwrap())
}

async fn end(
    Extension(s): Extension<Session>,
    Path(handle): Path<String>,
) -> Result<String, StatusCode> {
    Ok(s.end_session(&handle).await.map_err(status)?.to_string())
}

async fn end_others(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    Ok(s.end_other_sessions().await.map_err(status)?.to_string())
}

async fn end_all(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    Ok(s.end_all_sessions().await.map_err(status)?.to_string())
}

async fn whoami(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    Ok(s.owner().await.map_err(status)?.unwrap_or_default())
}

async fn logout_owner(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    s.clear_owner().await.map_err(status)?;
    s.insert("anonymous", true).await.map_err(status)?;
    Ok("anonymous")
}

async fn forge(Extension(s): Extension<Session>) -> String {
    let insert = s.insert(OWNER_FIELD, "mallory").await;
    let remove = s.remove(OWNER_FIELD).await;
    let update = s
        .update(OWNER_FIELD, |_: Option<String>| "x".to_owned())
        .await;
    format!(
        "{} {} {}",
        insert.is_err(),
        remove.is_err(),
        update.is_err()
    )
}

fn app(store: Arc<MemoryStore>) -> Router {
    Router::new()
        .route("/login/{user}/{agent}", get(login))
        .route("/sessions", get(list))
        .route("/end/{handle}", get(end))
        .route("/end-others", get(end_others))
        .route("/end-all", get(end_all))
        .route("/whoami", get(whoami))
        .route("/anonymous", get(logout_owner))
        .route("/forge", get(forge))
        .layer(signed(store, &[NEW]))
}

fn listed(body: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn a_login_is_listed_at_once_and_each_device_sees_the_others() {
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let (mut a, mut b) = (Browser::default(), Browser::default());
    // The login response already counts the new session, before its first save.
    assert_eq!(a.get(&app, "/login/alice/firefox").await.body, "1");
    assert_eq!(b.get(&app, "/login/alice/chromium").await.body, "2");
    let seen = listed(&a.get(&app, "/sessions").await.body);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["current"], true, "the current session comes first");
    assert_eq!(seen[0]["meta"]["ua"], "firefox");
    assert_eq!(seen[1]["meta"]["ua"], "chromium");
    // No id in the answer: only handles.
    let body = a.get(&app, "/sessions").await.body;
    for browser in [&a, &b] {
        let key = key_of(browser.cookie.as_deref().unwrap());
        assert!(
            !body.contains(key.as_str()),
            "a session id reached the client"
        );
    }
    // A ends B's session by its handle; B is logged out, A is not.
    let b_handle = seen[1]["handle"].as_str().unwrap().to_owned();
    assert_eq!(a.get(&app, &format!("/end/{b_handle}")).await.body, "true");
    assert_eq!(b.get(&app, "/whoami").await.body, "");
    assert_eq!(a.get(&app, "/whoami").await.body, "alice");
    assert_eq!(listed(&a.get(&app, "/sessions").await.body).len(), 1);
}

#[tokio::test]
async fn ending_the_other_sessions_keeps_this_one_and_other_users() {
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let mut browsers: Vec<Browser> = (0..5).map(|_| Browser::default()).collect();
    for (i, browser) in browsers.iter_mut().enumerate() {
        browser.get(&app, &format!("/login/alice/b{i}")).await;
    }
    let mut bob = Browser::default();
    bob.get(&app, "/login/bob/b").await;
    assert_eq!(browsers[0].get(&app, "/end-others").await.body, "4");
    assert_eq!(browsers[0].get(&app, "/whoami").await.body, "alice");
    for browser in &mut browsers[1..] {
        assert_eq!(browser.get(&app, "/whoami").await.body, "");
    }
    assert_eq!(bob.get(&app, "/whoami").await.body, "bob");
    // Ending everything logs this device out too.
    assert_eq!(browsers[0].get(&app, "/end-all").await.body, "1");
    assert_eq!(browsers[0].get(&app, "/whoami").await.body, "");
    let alice = Owner::new("alice").unwrap();
    assert!(store.list_owned(&alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn clearing_the_owner_leaves_the_list_and_the_field_cannot_be_forged() {
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let mut a = Browser::default();
    a.get(&app, "/login/alice/x").await;
    assert_eq!(a.get(&app, "/forge").await.body, "true true true");
    assert_eq!(a.get(&app, "/whoami").await.body, "alice");
    a.get(&app, "/anonymous").await;
    assert_eq!(a.get(&app, "/whoami").await.body, "");
    let alice = Owner::new("alice").unwrap();
    assert!(store.list_owned(&alice).await.unwrap().is_empty());
    // Handles that are malformed or name nobody end nothing.
    assert_eq!(a.get(&app, "/end/not-a-handle").await.body, "false");
}

#[tokio::test]
async fn no_session_id_reaches_the_logs_of_a_login_listing_and_failures() {
    let logs = session_testkit::capture_logs();
    let app = Router::new()
        .route("/login/{user}/{agent}", get(login_quietly))
        .route("/sessions", get(list))
        .route("/end-others", get(end_others))
        .layer(signed(
            CountingStore::failing(Arc::new(MemoryStore::new()), Failure::Owners),
            &[NEW],
        ));
    let (mut a, mut b) = (Browser::default(), Browser::default());
    assert_eq!(
        a.get(&app, "/login/alice/firefox").await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&app, "/login/alice/firefox").await.status,
        StatusCode::OK
    );
    let listing = a.get(&app, "/sessions").await;
    assert_eq!(listing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        a.get(&app, "/end-others").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let text = logs.text();
    assert!(text.contains("listing a user's sessions"), "{text}");
    assert!(text.contains("ending a user's other sessions"), "{text}");
    for browser in [&a, &b] {
        let cookie = browser.cookie.as_deref().expect("logged in");
        assert!(
            !text.contains(key_of(cookie).as_str()),
            "a session id was logged: {text}"
        );
    }
}
